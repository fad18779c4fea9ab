/**
 * The validation suite: checks a live stack against what it should be, one line per check,
 * then `N passed, N failed`; exits 1 if any check failed.
 *
 *   npm run validate -- --stack lab [--only model-cache]
 *
 * Each part of the tier is a module (runner.ts: ValidationModule), listed in MODULES.
 */
import { parseArgs } from "node:util";
import { edgeModule } from "./edge";
import { hardeningModule } from "./hardening";
import { modelCacheModule } from "./modelCache";
import { ValidationModule, runModules, summary } from "./runner";
import { vipModule } from "./vip";
import { readStackOutputs } from "./stackOutputs";

const MODULES: readonly ValidationModule[] = [
  hardeningModule,
  modelCacheModule,
  edgeModule,
  vipModule,
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { stack: { type: "string", short: "s" }, only: { type: "string", multiple: true } },
  });
  if (values.stack === undefined) {
    console.error(
      `usage: npm run validate -- --stack <stack> [--only ${MODULES.map((m) => m.name).join("|")}]`,
    );
    return 2;
  }
  const unknown = (values.only ?? []).filter((n) => !MODULES.some((m) => m.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown module ${unknown.join(", ")}; known: ${MODULES.map((m) => m.name).join(", ")}`,
    );
    return 2;
  }
  const outputs = await readStackOutputs(values.stack);
  const modules = values.only ? MODULES.filter((m) => values.only!.includes(m.name)) : MODULES;
  const results = await runModules(modules, outputs, (line) => console.log(line));
  console.log(summary(results));
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
