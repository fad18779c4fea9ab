/**
 * The ConfigSet fixture program (fixtures/config-set: an nginx site on the lab edge) on a
 * throw-away stack. Shared by the lab test and the bench.
 */
import * as path from "node:path";
import { LabHost, onHost } from "../support/lab";
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

/**
 * What transactions may have left on a host: uncollected transaction dirs, temp files beside
 * the managed files, and anything of okome's in /var/tmp (where backups must never be).
 */
export function txnLeftovers(host: LabHost): string {
  return onHost(
    host,
    `sudo -n sh -c 'ls -A /var/lib/okome/txn 2>/dev/null | grep -vx -e .lock -e .holder; ` +
      `ls -A /var/tmp | grep okome; ` +
      `find /etc -name ".okome-new*"' || true`,
  ).trim();
}
