/**
 * The validation suite: checks a live stack against what it should be, grouped by module, then
 * `N passed, N failed`. Read-only unless `--active`: the checks that write (a test key) are
 * listed as not run. Exit 0 when no check failed, 1 when one did, 2 when the suite could not
 * start (usage, unreadable outputs).
 *
 *   npm run validate -- --stack lab [--only model-cache] [--active] [--json]
 *   npm run validate -- --outputs outputs.json     (or `-` for stdin: the deployment gate)
 *
 * Each part of the tier is a module (runner.ts: ValidationModule), listed in MODULES.
 */
import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import { runCli } from "./cli";
import { edgeModule } from "./edge";
import { hardeningModule } from "./hardening";
import { modelCacheModule } from "./modelCache";
import { ValidationModule } from "./runner";
import { readStackOutputs } from "./stackOutputs";
import { vipModule } from "./vip";

const MODULES: readonly ValidationModule[] = [
  hardeningModule,
  modelCacheModule,
  edgeModule,
  vipModule,
];

runCli(process.argv.slice(2), {
  modules: MODULES,
  stackOutputs: readStackOutputs,
  readText: (file) => (file === "-" ? text(process.stdin) : readFile(file, "utf8")),
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
