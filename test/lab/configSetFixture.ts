/**
 * The ConfigSet fixture program (fixtures/config-set: an nginx site on the lab edge) on a
 * throw-away stack. Shared by the lab test and the bench.
 */
import * as path from "node:path";
import type { LabHost } from "../support/lab";
import { PulumiStack } from "../support/pulumiStack";

export const FIXTURE_DIR = path.join(__dirname, "fixtures/config-set");

/** A stack of the fixture against `edge`; its FIXTURE_* knobs are `stack.env` (`extra` adds some). */
export function fixtureStack(
  edge: LabHost,
  extra: Record<string, string> = {},
): Promise<PulumiStack> {
  return PulumiStack.create({
    programDir: FIXTURE_DIR,
    prefix: "cs",
    passphrase: "okome-config-set-fixture",
    env: {
      FIXTURE_ADDRESS: edge.address,
      FIXTURE_HOST_NAME: edge.name,
      FIXTURE_USER: edge.user,
      FIXTURE_KEY: edge.privateKeyPath,
      FIXTURE_KNOWN_HOSTS: edge.knownHostsFile,
      ...extra,
    },
  });
}

/** The body the fixture site answers with, fetched over the lab bridge. */
export async function siteBody(edge: LabHost, port = 8089): Promise<string> {
  const res = await fetch(`http://${edge.address}:${port}/`, {
    signal: AbortSignal.timeout(5000),
  });
  return `${res.status} ${await res.text()}`;
}
