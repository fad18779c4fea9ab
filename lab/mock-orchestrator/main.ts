/**
 * Runs the mock orchestrator: `node --require tsx/cjs lab/mock-orchestrator/main.ts
 * [--host 10.86.0.25] [--port 8000] [--plan-delay-ms 300]`. lab/mock.sh starts it inside the
 * okome-orch network namespace; it stops on SIGTERM.
 */
import { parseArgs } from "node:util";
import { MOCK_DEFAULTS, startMockOrchestrator } from "./server";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "10.86.0.25" },
      port: { type: "string", default: "8000" },
      "plan-delay-ms": { type: "string", default: String(MOCK_DEFAULTS.planDelayMs) },
    },
  });
  const port = Number(values.port);
  const planDelayMs = Number(values["plan-delay-ms"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port: 0-65535");
  if (!Number.isInteger(planDelayMs) || planDelayMs < 0) throw new Error("--plan-delay-ms: >= 0");

  const running = await startMockOrchestrator(values.host, port, { planDelayMs });
  console.log(`mock orchestrator listening on ${running.url}`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      console.log(`${signal}: stopping`);
      void running.close().then(() => process.exit(0));
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
