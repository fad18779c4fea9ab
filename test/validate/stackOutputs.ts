import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { StackOutputs } from "./runner";

/**
 * The outputs of `stack`, secrets in clear, from the real `pulumi` CLI run in the project
 * directory: the backend and passphrase come from the environment (scripts/lib/env.sh, or a
 * test's PULUMI_BACKEND_URL).
 */
export async function readStackOutputs(stack: string): Promise<StackOutputs> {
  const { stdout } = await promisify(execFile)(
    "pulumi",
    ["stack", "output", "--json", "--show-secrets", "--non-interactive", "-s", stack],
    { cwd: path.join(__dirname, "..", ".."), maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as StackOutputs;
}
