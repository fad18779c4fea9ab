/** Stack outputs as `pulumi stack output --json --show-secrets` prints them. */
export type StackOutputs = Readonly<Record<string, unknown>>;

/** Runs one named check: resolves when it passes, throws with the reason when it fails. */
export type Check = (name: string, probe: () => Promise<void>) => Promise<void>;

/**
 * One part of the validation suite (model cache, edge, VIP, hardening): checks one part of a
 * live stack, reporting each check through `check`. It closes what it opens; an exception
 * outside a check counts as one failed check.
 */
export interface ValidationModule {
  /** Prefix of every check line, e.g. `model-cache`. */
  readonly name: string;
  run(outputs: StackOutputs, check: Check): Promise<void>;
}

/** One check's outcome. */
export interface CheckResult {
  readonly module: string;
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed. */
  readonly reason?: string;
}

/** Reads a string output, or throws naming it. */
export function stringOutput(outputs: StackOutputs, key: string): string {
  const v = outputs[key];
  if (typeof v !== "string" || v === "")
    throw new Error(`stack output ${key} is missing or not a string`);
  return v;
}

/** Reads an object output with at least `fields`, or throws naming what is missing. */
export function objectOutput<T>(outputs: StackOutputs, key: string, fields: readonly string[]): T {
  const v = outputs[key] as Record<string, unknown> | undefined;
  const missing = fields.filter((f) => v?.[f] === undefined);
  if (typeof v !== "object" || v === null || missing.length > 0)
    throw new Error(`stack output ${key} is missing${v ? ` ${missing.join(", ")}` : ""}`);
  return v as T;
}

/** Reads a list output, or throws naming it. */
export function listOutput(outputs: StackOutputs, key: string): string[] {
  const v = outputs[key];
  if (!Array.isArray(v)) throw new Error(`stack output ${key} is missing or not a list`);
  return v.map(String);
}

/** Reads an integer output, or throws naming it. */
export function integerOutput(outputs: StackOutputs, key: string): number {
  const v = outputs[key];
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new Error(`stack output ${key} is missing or not an integer`);
  return v;
}

/** Reads a boolean output, or throws naming it. */
export function booleanOutput(outputs: StackOutputs, key: string): boolean {
  const v = outputs[key];
  if (typeof v !== "boolean") throw new Error(`stack output ${key} is missing or not a boolean`);
  return v;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0];

/**
 * Runs the modules one after another and prints one line per check (`PASS module: name` or
 * `FAIL module: name: reason`) through `print`. Returns every result.
 */
export async function runModules(
  modules: readonly ValidationModule[],
  outputs: StackOutputs,
  print: (line: string) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = (r: CheckResult) => {
    results.push(r);
    print(`${r.ok ? "PASS" : "FAIL"} ${r.module}: ${r.name}${r.ok ? "" : `: ${r.reason}`}`);
  };
  for (const m of modules) {
    const check: Check = async (name, probe) => {
      try {
        await probe();
        record({ module: m.name, name, ok: true });
      } catch (err) {
        record({ module: m.name, name, ok: false, reason: message(err) });
      }
    };
    try {
      await m.run(outputs, check);
    } catch (err) {
      record({ module: m.name, name: "could not run", ok: false, reason: message(err) });
    }
  }
  return results;
}

/** The final line: `N passed, N failed`. */
export function summary(results: readonly CheckResult[]): string {
  const passed = results.filter((r) => r.ok).length;
  return `${passed} passed, ${results.length - passed} failed`;
}
