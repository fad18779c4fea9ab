import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { StackOutputs, objectOutput } from "./runner";

/** How the suite logs in to the nodes, read-only (the stack's `deployAccess` output). */
export interface Access {
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsFile: string;
}

/** The `deployAccess` output at `key`, or an error naming what is missing. */
export const accessOutput = (outputs: StackOutputs, key: string) =>
  objectOutput<Access>(outputs, key, ["user", "privateKeyPath", "knownHostsFile"]);

/** Runs a read-only command on a node as the deploy user, with the pinned host key. */
export async function onNode(access: Access, address: string, command: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    "ssh",
    [
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${access.knownHostsFile}`,
      "-o",
      "ConnectTimeout=10",
      "-i",
      access.privateKeyPath,
      `${access.user}@${address}`,
      command,
    ],
    { timeout: 30_000 },
  );
  return stdout.trim();
}

/** The value of `metric` with `labels` in a Prometheus text page, or undefined. */
export function metricValue(
  page: string,
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  for (const line of page.split("\n")) {
    if (line !== metric && !line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `))
      continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}
