import { SshOptions, SshSession, SshTarget, connect, hostKeyMismatch } from "./session";
import { sameKey } from "./hostKeys";

/**
 * One SSH connection per host per provider process, shared by every resource.
 *
 * The pool lives on globalThis under a registered Symbol, not in module scope: Pulumi
 * serializes each dynamic provider into state, and module state inside serialized code
 * (or a module loaded twice under different paths) would give each resource its own pool.
 */
const POOL_KEY = Symbol.for("okome-cache.ssh.pool");

interface Pool {
  sessions: Map<string, Promise<SshSession>>;
}

function pool(): Pool {
  const g = globalThis as { [POOL_KEY]?: Pool };
  if (!g[POOL_KEY]) {
    g[POOL_KEY] = { sessions: new Map() };
    // The engine stops a provider with SIGINT (then SIGKILL after 5 s): close sessions
    // at once so sshd sees a clean disconnect and the run never waits on open sockets.
    process.once("exit", closePool);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        closePool();
        process.exit(sig === "SIGINT" ? 130 : 143);
      });
    }
  }
  return g[POOL_KEY];
}

const keyOf = (t: SshTarget) => `${t.user}@${t.address}:${t.port}`;

/** The shared session for `t`, connecting on first use and after the connection dropped. */
export async function pooledSession(
  t: SshTarget,
  overrides: Partial<SshOptions> = {},
): Promise<SshSession> {
  const { sessions } = pool();
  const key = keyOf(t);
  let pending = sessions.get(key);
  if (pending) {
    // A failed connect fails every resource that was waiting on it, without a second round of retries.
    const existing = await pending;
    if (!existing.closed) return checkPin(t, existing);
    if (sessions.get(key) === pending) sessions.delete(key);
    pending = sessions.get(key);
  }
  if (!pending) {
    const created = connect(t, overrides);
    sessions.set(key, created);
    created.catch(() => sessions.get(key) === created && sessions.delete(key));
    pending = created;
  }
  return checkPin(t, await pending);
}

/** Another resource may have opened the shared connection; it must satisfy this caller's pin too. */
function checkPin(t: SshTarget, session: SshSession): SshSession {
  if (t.trusted.length > 0 && !t.trusted.some((k) => sameKey(k, session.hostKey))) {
    throw hostKeyMismatch(t, session.hostKey);
  }
  return session;
}

/** Closes every pooled connection (process exit, tests, the bench). */
export function closePool(): void {
  const g = globalThis as { [POOL_KEY]?: Pool };
  const sessions = g[POOL_KEY]?.sessions;
  if (!sessions) return;
  for (const pending of sessions.values())
    pending.then(
      (s) => s.close(),
      () => undefined,
    );
  sessions.clear();
}
