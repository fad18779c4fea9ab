import { spawn } from "node:child_process";

/** How a host script's run ended: its exit code, output and duration. */
export interface ScriptRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  readonly ms: number;
}

/**
 * Runs a host script with `env`. Asynchronous, so that loopback servers of the same test process
 * can answer its requests meanwhile.
 */
export function runScript(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out, err, ms: Date.now() - started }));
  });
}
