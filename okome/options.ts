/** Drops `undefined` fields so that spreading the result over a defaults object keeps them. */
export function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

/** A problem message unless `v` is a positive safe integer. */
export function positiveInt(path: string, v: number): string | undefined {
  return Number.isSafeInteger(v) && v > 0
    ? undefined
    : `${path} must be a positive integer, got ${v}`;
}

/** A problem message unless `v` is a non-negative safe integer. */
export function nonNegativeInt(path: string, v: number): string | undefined {
  return Number.isSafeInteger(v) && v >= 0
    ? undefined
    : `${path} must be an integer >= 0, got ${v}`;
}
