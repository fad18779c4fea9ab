/**
 * How every host provider reaches its host: the deploy key and the trusted host keys resolved
 * from the connection (and the key pinned in state), then the pooled session. Side effects
 * (reads key files, connects); loaded in the dynamic provider process at call time.
 */
import { readFileSync } from "node:fs";
import { expandHome } from "../../common/paths";
import { HostKey, formatHostKey, knownHostKeys, parseHostKey, sameKey } from "../ssh/hostKeys";
import { pooledSession } from "../ssh/pool";
import { SshSession, SshTarget } from "../ssh/session";
import { WireConnection } from "./wire";

/** Resolves credentials and host-key trust; the key file is read here, so it never enters state. */
export function resolveTarget(conn: WireConnection, stateHostKey?: string): SshTarget {
  let privateKey: Buffer;
  if (conn.privateKey !== undefined) {
    privateKey = Buffer.from(conn.privateKey);
  } else {
    const file = expandHome(conn.privateKeyPath!);
    try {
      privateKey = readFileSync(file);
    } catch (e) {
      throw new Error(`${conn.name}: cannot read the deploy key ${file}: ${(e as Error).message}`);
    }
  }
  let trusted: HostKey[] = [];
  let trustSource = "nothing (first use)";
  if (conn.hostKey !== undefined) {
    trusted = [parseHostKey(conn.hostKey)!];
    trustSource = "connection.hostKey";
  } else if (conn.knownHostsFile !== undefined) {
    const file = expandHome(conn.knownHostsFile);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(
        `${conn.name}: cannot read known_hosts file ${file}: ${(e as Error).message}`,
      );
    }
    const found = knownHostKeys(text, conn.address, conn.port);
    const usable = found.keys.filter((k) => !found.revoked.some((r) => sameKey(r, k)));
    if (usable.length === 0) {
      throw new Error(
        `${conn.name}: ${file} has no host key for ${conn.address}:${conn.port}; add one (ssh-keyscan) or pin connection.hostKey`,
      );
    }
    trusted = usable;
    trustSource = `known_hosts ${file}`;
  } else if (stateHostKey) {
    trusted = [parseHostKey(stateHostKey)!];
    trustSource = "state (key seen on first use)";
  }
  return {
    name: conn.name,
    address: conn.address,
    port: conn.port,
    user: conn.user,
    privateKey,
    trusted,
    trustSource,
  };
}

/**
 * The run's shared session to the host, trusting what resolveTarget trusts; `hostKey` is the
 * key the host presented, for state ("ssh-ed25519 AAAA...").
 */
export async function hostSession(
  conn: WireConnection,
  stateHostKey: string | undefined,
): Promise<{ session: SshSession; hostKey: string }> {
  const session = await pooledSession(resolveTarget(conn, stateHostKey));
  return { session, hostKey: formatHostKey(session.hostKey) };
}
