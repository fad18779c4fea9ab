/**
 * How the validation suite reports: lines grouped by module for people, one JSON document for
 * machines. Both count a check that was not run (it writes, and `--active` was not given) apart
 * from the passed and failed ones: it neither passes nor fails the run.
 */
import { CheckResult, Outcome } from "./runner";

export interface Totals {
  readonly passed: number;
  readonly failed: number;
  readonly notRun: number;
}

export function totals(results: readonly CheckResult[]): Totals {
  const count = (outcome: Outcome) => results.filter((r) => r.outcome === outcome).length;
  return { passed: count("pass"), failed: count("fail"), notRun: count("not run") };
}

/** True when no check failed. */
export const passed = (results: readonly CheckResult[]) => totals(results).failed === 0;

/** The first line of a module's group. */
export const moduleHeader = (module: string) => `== ${module}`;

/** One check: `PASS module: name`, `FAIL module: name: reason`, or a line saying it was not run. */
export function checkLine(r: CheckResult): string {
  switch (r.outcome) {
    case "pass":
      return `PASS ${r.module}: ${r.name}`;
    case "fail":
      return `FAIL ${r.module}: ${r.name}: ${r.reason}`;
    case "not run":
      return `---- ${r.module}: ${r.name}: not run: needs --active (writes ${r.writes})`;
  }
}

/** `N passed, N failed`, with `, N not run` when some were not. */
function counts(t: Totals): string {
  return `${t.passed} passed, ${t.failed} failed${t.notRun > 0 ? `, ${t.notRun} not run` : ""}`;
}

/** The last line of a module's group. */
export const moduleFooter = (module: string, results: readonly CheckResult[]) =>
  `-- ${module}: ${counts(totals(results.filter((r) => r.module === module)))}`;

/**
 * The closing lines: `N passed, N failed` alone on its line (what scripts and the lab tests
 * match), then a line for the checks not run, if any.
 */
export function summary(results: readonly CheckResult[]): string[] {
  const t = totals(results);
  const lines = [`${t.passed} passed, ${t.failed} failed`];
  if (t.notRun > 0)
    lines.push(`${t.notRun} not run: they write; run with --active to include them`);
  return lines;
}

/** The `--json` document. */
export interface JsonReport {
  /** No check failed. */
  readonly ok: boolean;
  /** Whether the checks that write were run. */
  readonly active: boolean;
  readonly totals: Totals;
  readonly modules: readonly {
    readonly name: string;
    readonly ok: boolean;
    readonly totals: Totals;
    readonly checks: readonly {
      readonly name: string;
      readonly outcome: Outcome;
      readonly reason?: string;
      readonly writes?: string;
    }[];
  }[];
}

export function jsonReport(
  modules: readonly string[],
  results: readonly CheckResult[],
  active: boolean,
): JsonReport {
  return {
    ok: passed(results),
    active,
    totals: totals(results),
    modules: modules.map((name) => {
      const own = results.filter((r) => r.module === name);
      return {
        name,
        ok: passed(own),
        totals: totals(own),
        checks: own.map(({ name: check, outcome, reason, writes }) => ({
          name: check,
          outcome,
          ...(reason !== undefined && { reason }),
          ...(writes !== undefined && { writes }),
        })),
      };
    }),
  };
}
