import { appendFileSync } from "node:fs";
import { Client, ClientChannel, ConnectConfig } from "ssh2";
import { HostKey, fingerprint, hostKeyAlgorithms, hostKeyFromBlob, sameKey } from "./hostKeys";

/** A host as the SSH layer reaches it, with credentials and trust already resolved. */
export interface SshTarget {
  /** Host name for every message ("okome-edge"). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: Buffer;
  /** Keys accepted for the host; empty means trust on first use (the caller pins what it saw). */
  readonly trusted: readonly HostKey[];
  /** Where `trusted` came from, for the mismatch message ("hostKey", "known_hosts ~/x", "state"). */
  readonly trustSource: string;
}

/** Timeouts and retry policy; every knob in one place. */
export const SSH_DEFAULTS = {
  /** TCP connect + handshake + auth. */
  connectTimeoutMs: 10_000,
  /** Connection attempts after the first, for network errors only (never auth, host key or commands). */
  retries: 3,
  /** First backoff; doubles each retry (0.5 s, 1 s, 2 s). */
  backoffMs: 500,
  /** Whole-command bound; the transaction bounds each step itself, this catches a hung host. */
  commandTimeoutMs: 300_000,
  /** Keepalives notice a dead connection in about interval x 3. */
  keepaliveMs: 5_000,
  /** Concurrent channels per connection; sshd's MaxSessions defaults to 10. */
  maxChannels: 4,
} as const;

export type SshOptions = { -readonly [K in keyof typeof SSH_DEFAULTS]: number };

export type SshErrorKind = "connect" | "auth" | "hostkey" | "timeout" | "closed" | "key";

export class SshError extends Error {
  constructor(
    message: string,
    readonly kind: SshErrorKind,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "SshError";
  }
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Appends one line per connection attempt (`attempt`, written before any packet, so a refused
 * or unreachable host shows too), per established connection (`connect`) and per command
 * (`exec`) to $OKOME_SSH_LOG, so tests and the bench can count sessions without reading the
 * hosts' journals, and can prove that a run tried none.
 */
export function sshLog(
  event: string,
  target: Pick<SshTarget, "name" | "address" | "port">,
  detail = "",
): void {
  const file = process.env.OKOME_SSH_LOG;
  if (!file) return;
  const line = `${new Date().toISOString()} pid=${process.pid} ${event} ${target.name} ${target.address}:${target.port}${detail ? ` ${detail}` : ""}\n`;
  try {
    appendFileSync(file, line);
  } catch {
    // Counting is a test aid; a missing log dir must never fail a deploy.
  }
}

const where = (t: SshTarget) => `${t.name} (${t.user}@${t.address}:${t.port})`;
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "EPIPE",
]);

/** A connected, authenticated SSH client for one host. */
export class SshSession {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closedReason?: string;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    /** The key the host presented on this connection. */
    readonly hostKey: HostKey,
    private readonly opts: SshOptions,
  ) {
    client.on("close", () => (this.closedReason ??= "the connection closed"));
    client.on("error", (e) => (this.closedReason ??= e.message));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Runs `command`, feeding `stdin`; a non-zero exit is a result, not an error. */
  async exec(
    command: string,
    opts: {
      stdin?: string;
      timeoutMs?: number;
      label?: string;
      /** Called with each chunk of stdout as it arrives (progress, and tests that cut mid-step). */
      onStdout?: (chunk: string) => void;
    } = {},
  ): Promise<ExecResult> {
    await this.acquire();
    try {
      sshLog("exec", this.target, opts.label ?? command);
      return await this.run(
        command,
        opts.stdin ?? "",
        opts.timeoutMs ?? this.opts.commandTimeoutMs,
        opts.label ?? command,
        opts.onStdout,
      );
    } finally {
      this.release();
    }
  }

  close(): void {
    this.closedReason ??= "closed by the provider";
    this.client.end();
  }

  /** Drops the TCP connection without a goodbye, as a network failure would. */
  abort(reason: string): void {
    this.closedReason ??= reason;
    this.client.destroy();
  }

  private run(
    command: string,
    stdin: string,
    timeoutMs: number,
    label: string,
    onStdout?: (chunk: string) => void,
  ): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (this.closedReason) {
        reject(
          new SshError(
            `${where(this.target)}: cannot run ${label}: ${this.closedReason}`,
            "closed",
            false,
          ),
        );
        return;
      }
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) {
          reject(
            new SshError(
              `${where(this.target)}: cannot open a channel for ${label}: ${err.message}`,
              "closed",
              false,
            ),
          );
          return;
        }
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let code: number | null = null;
        let signal: string | undefined;
        const timer = setTimeout(() => {
          stream.close();
          reject(
            new SshError(
              `${where(this.target)}: ${label} timed out after ${timeoutMs / 1000} s; the host may still be running it`,
              "timeout",
              false,
            ),
          );
        }, timeoutMs);
        stream.on("data", (d: Buffer) => {
          out.push(d);
          onStdout?.(d.toString("utf8"));
        });
        stream.stderr.on("data", (d: Buffer) => errs.push(d));
        stream.on("exit", (c: number | null, s?: string) => {
          code = c;
          signal = s;
        });
        stream.on("close", () => {
          clearTimeout(timer);
          if (code === null && signal === undefined && this.closedReason) {
            reject(
              new SshError(
                `${where(this.target)}: connection lost during ${label}: ${this.closedReason}`,
                "closed",
                false,
              ),
            );
            return;
          }
          resolve({
            code,
            signal,
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(errs).toString("utf8"),
          });
        });
        stream.end(stdin);
      });
    });
  }

  private async acquire(): Promise<void> {
    if (this.active < this.opts.maxChannels) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** The error for a host that presented a key other than the pinned one(s). */
export function hostKeyMismatch(t: SshTarget, got: HostKey): SshError {
  const want = t.trusted.map((k) => `${fingerprint(k)} (${k.type})`).join(", ");
  return new SshError(
    `${where(t)}: host key mismatch: expected ${want} from ${t.trustSource}, got ${fingerprint(got)} (${got.type}). ` +
      `If the host was reinstalled, update the pin; otherwise something is intercepting the connection.`,
    "hostkey",
    false,
  );
}

/** Why a connection attempt failed, in words that name the host and what to do. */
function classify(
  t: SshTarget,
  opts: SshOptions,
  e: Error & { level?: string; code?: string },
  mismatch?: HostKey,
): SshError {
  if (mismatch) return hostKeyMismatch(t, mismatch);
  if (e.level === "client-authentication") {
    return new SshError(
      `${where(t)}: the deploy key was refused (${e.message}); is it in ~${t.user}/.ssh/authorized_keys and allowed by sshd?`,
      "auth",
      false,
    );
  }
  if (e.level === "client-timeout") {
    return new SshError(
      `${where(t)}: no SSH handshake within ${opts.connectTimeoutMs / 1000} s (host down or unreachable?)`,
      "connect",
      true,
    );
  }
  // sshd that closes before its banner is starting up or shedding load (MaxStartups): try again.
  const retryable =
    (e.code !== undefined && RETRYABLE_CODES.has(e.code)) ||
    e.message === "Connection lost before handshake";
  return new SshError(`${where(t)}: cannot connect: ${e.message}`, "connect", retryable);
}

function connectOnce(t: SshTarget, opts: SshOptions): Promise<SshSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: HostKey | undefined;
    let mismatch: HostKey | undefined;
    const config: ConnectConfig = {
      host: t.address,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      readyTimeout: opts.connectTimeoutMs,
      keepaliveInterval: opts.keepaliveMs,
      keepaliveCountMax: 3,
      hostVerifier: (blob: Buffer) => {
        presented = hostKeyFromBlob(blob);
        if (t.trusted.length === 0 || t.trusted.some((k) => sameKey(k, presented!))) return true;
        mismatch = presented;
        return false;
      },
      ...(t.trusted.length > 0 && {
        algorithms: {
          serverHostKey: hostKeyAlgorithms(t.trusted) as NonNullable<
            ConnectConfig["algorithms"]
          >["serverHostKey"],
        },
      }),
    };
    let settled = false;
    client.once("ready", () => {
      settled = true;
      sshLog("connect", t, presented ? fingerprint(presented) : "");
      resolve(new SshSession(t, client, presented!, opts));
    });
    client.once("error", (e: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(classify(t, opts, e, mismatch));
    });
    try {
      client.connect(config);
    } catch (e) {
      settled = true;
      reject(
        new SshError(
          `${where(t)}: cannot use the deploy key: ${(e as Error).message}`,
          "key",
          false,
        ),
      );
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A new connection (never pooled), retried with backoff on network errors only. */
export async function connect(
  t: SshTarget,
  overrides: Partial<SshOptions> = {},
): Promise<SshSession> {
  const opts: SshOptions = { ...SSH_DEFAULTS, ...overrides };
  for (let attempt = 0; ; attempt++) {
    try {
      sshLog("attempt", t, `${attempt + 1}`);
      return await connectOnce(t, opts);
    } catch (e) {
      if (!(e instanceof SshError) || !e.retryable || attempt >= opts.retries) {
        if (e instanceof SshError && e.retryable && attempt > 0) {
          e.message += ` (after ${attempt + 1} attempts)`;
        }
        throw e;
      }
      sshLog("retry", t, `${attempt + 1}: ${e.message}`);
      await sleep(opts.backoffMs * 2 ** attempt);
    }
  }
}
