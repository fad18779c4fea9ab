/** Stack outputs as `pulumi stack output --json --show-secrets` prints them. */
export type StackOutputs = Readonly<Record<string, unknown>>;

/** What a check needs beyond its probe. */
export interface CheckOptions {
  /**
   * What the check changes on the tier, e.g. "a test key in the model cache": it runs only with
   * `--active`, and otherwise is reported as not run. Read-only checks leave this out.
   */
  readonly writes?: string;
}

/** Runs one named check: resolves when it passes, throws with the reason when it fails. */
export type Check = (
  name: string,
  probe: () => Promise<void>,
  options?: CheckOptions,
) => Promise<void>;

/**
 * One part of the validation suite (model cache, edge, VIP, hardening): checks one part of a
 * live stack, reporting each check through `check`. It closes what it opens; an exception
 * outside a check (a missing stack output) counts as one failed check.
 */
export interface ValidationModule {
  /** Prefix of every check line, e.g. `model-cache`. */
  readonly name: string;
  run(outputs: StackOutputs, check: Check): Promise<void>;
}

/** A check passed, failed, or was not run because it writes and `--active` was not given. */
export type Outcome = "pass" | "fail" | "not run";

/** One check's outcome. */
export interface CheckResult {
  readonly module: string;
  readonly name: string;
  readonly outcome: Outcome;
  /** Why it failed. */
  readonly reason?: string;
  /** What it writes (CheckOptions.writes), for the checks that do. */
  readonly writes?: string;
}

/** How a run goes, and where it reports. */
export interface RunOptions {
  /** Also run the checks that write. */
  readonly active: boolean;
  /** Called with each check's result as it comes. */
  readonly onResult?: (result: CheckResult) => void;
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
 * Runs the modules one after another; a check that writes runs only when `options.active`.
 * Returns every result, in order.
 */
export async function runModules(
  modules: readonly ValidationModule[],
  outputs: StackOutputs,
  options: RunOptions,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = (r: CheckResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  for (const m of modules) {
    const check: Check = async (name, probe, { writes } = {}) => {
      const base = { module: m.name, name, ...(writes !== undefined && { writes }) };
      if (writes !== undefined && !options.active) return record({ ...base, outcome: "not run" });
      try {
        await probe();
        record({ ...base, outcome: "pass" });
      } catch (err) {
        record({ ...base, outcome: "fail", reason: message(err) });
      }
    };
    try {
      await m.run(outputs, check);
    } catch (err) {
      record({ module: m.name, name: "could not run", outcome: "fail", reason: message(err) });
    }
  }
  return results;
}
