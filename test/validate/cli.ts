/**
 * The validation suite's command line, apart from the process (index.ts wires it to the real
 * stack, files, stdin and console), so that the unit tests drive it with fake modules.
 */
import { parseArgs } from "node:util";
import { checkLine, jsonReport, moduleFooter, moduleHeader, passed, summary } from "./report";
import { CheckResult, StackOutputs, ValidationModule, runModules } from "./runner";

/** Exit codes: every check that ran passed; a check failed; the suite could not start. */
export const EXIT = { passed: 0, failed: 1, usage: 2 } as const;

/** What the command line reaches outside itself. */
export interface CliWorld {
  readonly modules: readonly ValidationModule[];
  /** The outputs of a stack (`pulumi stack output`). */
  readonly stackOutputs: (stack: string) => Promise<unknown>;
  /** The text of a file, or of stdin for `-`. */
  readonly readText: (file: string) => Promise<string>;
  /** A line to stdout, and a line to stderr. */
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const OPTIONS = {
  stack: { type: "string", short: "s" },
  outputs: { type: "string" },
  only: { type: "string", multiple: true },
  active: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

function usage(modules: readonly ValidationModule[]): string {
  const names = modules.map((m) => m.name).join("|");
  return (
    `usage: npm run validate -- (--stack <stack> | --outputs <file.json>|-) ` +
    `[--only ${names}]... [--active] [--json]`
  );
}

/** Thrown for what the caller got wrong; the CLI prints it with the usage and exits 2. */
class UsageError extends Error {}

/** The outputs as a JSON object, from the stack or the file `--outputs` names. */
async function readOutputs(
  world: CliWorld,
  source: { stack?: string; outputs?: string },
): Promise<StackOutputs> {
  if ((source.stack === undefined) === (source.outputs === undefined))
    throw new UsageError("give exactly one of --stack and --outputs");
  let outputs: unknown;
  if (source.stack !== undefined) outputs = await world.stackOutputs(source.stack);
  else {
    const from = source.outputs === "-" ? "stdin" : source.outputs!;
    try {
      outputs = JSON.parse(await world.readText(source.outputs!));
    } catch (err) {
      throw new UsageError(`cannot read the outputs from ${from}: ${(err as Error).message}`);
    }
  }
  if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs))
    throw new UsageError("the stack outputs must be a JSON object");
  return outputs as StackOutputs;
}

/** What one run does, as the command line asks for it. */
interface Run {
  readonly modules: readonly ValidationModule[];
  readonly outputs: StackOutputs;
  readonly active: boolean;
  readonly json: boolean;
}

/** Parses the command line and reads the outputs; throws when the suite cannot start. */
async function prepare(argv: readonly string[], world: CliWorld): Promise<Run> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const only = values.only;
  const unknown = (only ?? []).filter((n) => !world.modules.some((m) => m.name === n));
  if (unknown.length > 0) throw new UsageError(`unknown module ${unknown.join(", ")}`);
  return {
    modules: only ? world.modules.filter((m) => only.includes(m.name)) : world.modules,
    outputs: await readOutputs(world, values),
    active: values.active,
    json: values.json,
  };
}

/**
 * Runs the command line `argv`; resolves with the exit code. Without `--json` each module's
 * lines come as its checks run; with it, stdout gets the one document and nothing else.
 */
export async function runCli(argv: readonly string[], world: CliWorld): Promise<number> {
  let run: Run;
  try {
    run = await prepare(argv, world);
  } catch (err) {
    world.err(err instanceof Error ? err.message : String(err));
    if (err instanceof UsageError) world.err(usage(world.modules));
    return EXIT.usage;
  }
  const results: CheckResult[] = [];
  const text = run.json ? () => undefined : world.out;
  for (const m of run.modules) {
    text(moduleHeader(m.name));
    const own = await runModules([m], run.outputs, {
      active: run.active,
      onResult: (r) => text(checkLine(r)),
    });
    results.push(...own);
    text(moduleFooter(m.name, own));
  }
  if (run.json) {
    const names = run.modules.map((m) => m.name);
    world.out(JSON.stringify(jsonReport(names, results, run.active), null, 2));
  } else summary(results).forEach((line) => world.out(line));
  return passed(results) ? EXIT.passed : EXIT.failed;
}
