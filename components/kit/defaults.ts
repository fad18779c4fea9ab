/** `args` with each argument it leaves undefined taken from `defaults`. */
export type WithDefaults<Args, Defaults> = Omit<Args, keyof Defaults> & {
  -readonly [K in keyof Defaults]-?:
    NonNullable<K extends keyof Args ? Args[K] : never> | Defaults[K];
};

/**
 * Applies a component's named defaults (its `*_DEFAULTS` object) to its arguments: the one place
 * each component resolves them. An argument given as `undefined` takes its default too.
 */
export function withDefaults<Args extends object, Defaults extends { [K in keyof Args]?: unknown }>(
  args: Args,
  defaults: Defaults,
): WithDefaults<Args, Defaults> {
  const given = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
  return { ...defaults, ...given } as WithDefaults<Args, Defaults>;
}
