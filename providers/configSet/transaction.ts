/**
 * One config transaction on one host, as the provider drives it: upload the whole thing and
 * start it detached (begin.sh), follow its log (wait.sh) through dropped connections, prove
 * a fresh login for the dead-man switch (confirm.sh), then collect it (finish.sh).
 */
import * as os from "node:os";
import { asRoot } from "../host/shell";
import { HostKey } from "../ssh/hostKeys";
import { pooledSession } from "../ssh/pool";
import { SshError, SshSession, SshTarget, connect } from "../ssh/session";
import { FileOp } from "./plan";
import {
  Orphan,
  TXN_BASE,
  TransactionInput,
  TxnReport,
  buildBundle,
  hostCommand,
  isFinal,
  parseTxnOutput,
} from "./script";
import { DEADMAN_CONFIRM_CONNECT } from "./validate";
import { WireInputs } from "./wire";

/** The settings of a set that shape its transaction. */
export type TxnSettings = Pick<
  WireInputs,
  | "service"
  | "validate"
  | "activate"
  | "verify"
  | "deadman"
  | "stepTimeoutSeconds"
  | "lockWaitSeconds"
  | "userWritableDirs"
>;

/** Every knob of the provider's side of a transaction. */
export const TXN_DEFAULTS = {
  /** One wait.sh call; the provider calls again until the transaction ends. */
  waitCallSeconds: 120,
  /** After a dropped connection, how long to keep reconnecting to follow the transaction. */
  reconnectForMs: 45_000,
  reconnectBackoffMs: 1_000,
} as const;

/** A command that must answer with protocol lines; anything else is the command not starting. */
export async function runHost(
  session: SshSession,
  command: string,
  label: string,
  opts: { stdin?: string; onStdout?: (chunk: string) => void; timeoutMs?: number } = {},
): Promise<string> {
  const t = session.target;
  const res = await session.exec(asRoot(t, command), { label, ...opts });
  if (!res.stdout.includes("@okome ") && res.code !== 0) {
    const why = res.stderr.trim() || `exit ${res.code ?? res.signal}`;
    const hint = /sudo/.test(why) ? ` (the deploy user ${t.user} needs passwordless sudo)` : "";
    throw new Error(`${t.name}: ${label} could not start: ${why}${hint}`);
  }
  return res.stdout;
}

/**
 * Test hook, unset in real runs: `OKOME_TXN_FAULT=cut:<phase>` drops the provider's TCP
 * connection once, when the transaction reaches <phase> (upload: right after it started;
 * write, validate, activate: when the host's log says that phase began), as a flaky network
 * would; `exit:<phase>` kills the provider process there instead, as a crash would.
 */
interface Fault {
  readonly action: string;
  readonly phase: string;
  fired: boolean;
}
function faultFromEnv(): Fault | undefined {
  const [action, phase] = (process.env.OKOME_TXN_FAULT ?? "").split(":");
  return action && phase ? { action, phase, fired: false } : undefined;
}
function injectFault(fault: Fault | undefined, phase: string, session: SshSession): void {
  if (!fault || fault.fired || fault.phase !== phase) return;
  fault.fired = true;
  if (fault.action === "exit") process.kill(process.pid, "SIGKILL");
  session.abort(`fault injected at ${phase} (OKOME_TXN_FAULT)`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The connection dropped, or a reconnection failed for a reason that may pass (not auth, not a key). */
const lostConnection = (e: unknown) =>
  e instanceof SshError && (e.kind === "closed" || (e.kind === "connect" && e.retryable));

/** A short, stable id for this run's transactions, so a lost `begin` answer can be found again. */
const txnName = (service: string) =>
  `${service}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** Says who runs a transaction, for a run that has to wait for the lock. */
const clientName = (t: SshTarget) => `${t.user}@${os.hostname()} pid ${process.pid}`;

/** Follows the transaction's log until it ends (or is armed), reconnecting when the connection drops. */
async function follow(
  t: SshTarget,
  dir: string,
  until: "final" | "armed",
  session: () => Promise<SshSession>,
  deadlineMs: number,
  fault?: Fault,
): Promise<TxnReport> {
  let lostSince: number | undefined;
  for (;;) {
    let s: SshSession;
    try {
      s = await session();
      const seen = new Set<string>();
      let buffered = "";
      const out = await runHost(
        s,
        hostCommand("wait", [dir, until, String(TXN_DEFAULTS.waitCallSeconds)]),
        `${dir} wait`,
        {
          timeoutMs: (TXN_DEFAULTS.waitCallSeconds + 30) * 1000,
          onStdout: (chunk) => {
            buffered += chunk;
            for (const m of buffered.matchAll(/^@okome phase (\S+)$/gm)) {
              if (seen.has(m[1])) continue;
              seen.add(m[1]);
              injectFault(fault, m[1], s);
            }
          },
        },
      );
      lostSince = undefined;
      const report = parseTxnOutput(out);
      if (isFinal(report.state) || (until === "armed" && report.state === "armed")) return report;
      if (Date.now() > deadlineMs) {
        throw new Error(
          `${t.name}: the transaction in ${dir} is still ${report.state} after the provider's deadline; it goes on on the host`,
        );
      }
    } catch (e) {
      if (!lostConnection(e)) throw e;
      lostSince ??= Date.now();
      if (Date.now() - lostSince > TXN_DEFAULTS.reconnectForMs) {
        throw new Error(
          `${t.name}: lost the connection while following the transaction in ${dir}, and could not reconnect for ${TXN_DEFAULTS.reconnectForMs / 1000} s (${(e as Error).message}). ` +
            "It goes on on the host and ends committed or rolled back by itself; the next run on this host reports how it ended.",
        );
      }
      await sleep(TXN_DEFAULTS.reconnectBackoffMs);
    }
  }
}

/** Who held the host's lock, and the other details worth a sentence in an error. */
const STEP_COMMAND: Record<string, (s: TxnSettings) => string | undefined> = {
  validate: (s) => s.validate,
  activate: (s) => s.activate,
  verify: (s) => s.verify,
};

/** True when the host's log shows that no managed file was touched. */
const nothingWritten = (r: TxnReport) => !r.phases.includes("write");

/** The resource error for a failed transaction: the host, the phase, the tool's own words. */
export function transactionError(
  host: string,
  s: TxnSettings,
  report: TxnReport,
  changes: string,
  paths: readonly string[] = [],
): Error {
  const phase = report.expired ? "dead-man switch" : (report.failed ?? "transaction");
  const step = report.steps[phase];
  const cmd = STEP_COMMAND[phase]?.(s);
  const status = step
    ? step.rc === 124
      ? `timed out after ${s.stepTimeoutSeconds} s`
      : `exited ${step.rc}`
    : "failed";
  const lines = [`${host}: ${s.service}: ${phase} ${cmd ? `(\`${cmd}\`) ` : ""}${status}.`];
  if (step?.output.trim()) lines.push(step.output.trimEnd());
  if (report.uploadError) lines.push(`The host refused the upload: ${report.uploadError}.`);
  if (report.failed === "unfollowed") {
    lines.push(
      "No provider was following this transaction when it got the host's lock (the run that started it was stopped), so it did not apply a change a newer run may have replaced.",
    );
  }
  if (report.failed === "recover-unit") {
    lines.push(
      "Could not install okome-txn-recover.service, the dead-man switch's safety net across reboots.",
    );
  }
  if (report.failed === "lock") {
    lines.push(
      `Another transaction holds this host's lock: ${report.holder ?? "unknown"}; waited ${s.lockWaitSeconds} s. ` +
        "Run again once it has finished (two stacks or runs must not configure one host at once).",
    );
  }
  for (const [n, why] of Object.entries(report.refused)) {
    const p = paths[Number(n)] ?? `file #${n}`;
    if (why.kind === "link") {
      lines.push(
        `${p} is a symbolic link (to ${why.target}): okome-cache never writes through or replaces a link. Remove it on the host, or manage the file it points to.`,
      );
    } else if (why.kind === "parent") {
      lines.push(
        `${p}: its parent ${why.dir} (${why.owner} ${why.mode}) can be written by a non-root user, who could swap the file or a parent for a link. Make it root-owned and not group/other-writable, or list it in userWritableDirs if that is intended.`,
      );
    } else {
      lines.push(`${p} exists on the host and is not a regular file.`);
    }
  }
  const rollback = report.steps.rollback;
  if (report.expired) {
    lines.push("The dead-man switch restored the previous config before the change was confirmed.");
  } else if (nothingWritten(report)) {
    lines.push("Nothing was written; the host is unchanged.");
  } else if (rollback?.rc === 0) {
    lines.push(
      "The previous config was restored and re-activated; temp and backup files were removed.",
    );
  } else if (rollback) {
    lines.push(
      `ROLLBACK FAILED (exit ${rollback.rc}); the host may be on a mixed config, fix it by hand:`,
      rollback.output.trimEnd(),
    );
    if (report.keptBackups)
      lines.push(`The backups are kept on the host in ${report.keptBackups}.`);
  }
  if (changes) lines.push("Attempted change:", changes);
  return new Error(lines.join("\n"));
}

/** Says on the provider's stderr (shown by `pulumi up`) what became of transactions nobody collected. */
function reportOrphans(t: SshTarget, orphans: readonly Orphan[]): void {
  for (const o of orphans) {
    const how =
      o.now === "abandoned"
        ? "never started (its runner died waiting for the lock); nothing was written"
        : o.now === "collected"
          ? `had ended ${o.was}${o.failed ? ` (failed at ${o.failed})` : ""} with no provider left to report it`
          : `was cut short while ${o.was} (its runner died); it was ${o.now === "rolled-back" ? "rolled back" : "NOT rolled back cleanly: check the host"}`;
    console.error(`warning: ${t.name}: an earlier transaction ${o.name} ${how}.`);
  }
}

/** Slack after the dead-man deadline before looking whether the host restored itself. */
const DEADMAN_GRACE_MS = 5_000;

/**
 * The dead-man second half: a FRESH login (the pooled connection survives an sshd reload and
 * proves nothing), pinned to the key the first session saw (with first-use trust an impostor
 * must not confirm), then confirm and follow to the end. Returns the final report; when the
 * login fails, waits for the deadline and reports what the host did by itself.
 */
async function confirmDeadman(
  t: SshTarget,
  pinned: SshTarget,
  s: TxnSettings,
  dir: string,
  deadlineMs: number,
): Promise<{ report: TxnReport; loginError?: string }> {
  const armedAt = Date.now();
  let fresh: SshSession;
  try {
    fresh = await connect(pinned, DEADMAN_CONFIRM_CONNECT);
  } catch (e) {
    const wait = armedAt + s.deadman!.timeoutSeconds * 1000 + DEADMAN_GRACE_MS - Date.now();
    if (wait > 0) await sleep(wait);
    const report = await follow(t, dir, "final", () => pooledSession(pinned), deadlineMs);
    return { report, loginError: (e as Error).message };
  }
  try {
    await runHost(fresh, hostCommand("confirm", [dir]), `${s.service} confirm`);
    // The fresh session first; after a drop, the shared one, pinned the same way.
    const session = async () => (fresh.closed ? pooledSession(pinned) : fresh);
    return { report: await follow(t, dir, "final", session, deadlineMs) };
  } finally {
    fresh.close();
  }
}

/** The error for a dead-man switch that fired, with or without a failed login. */
function deadmanError(
  t: SshTarget,
  s: TxnSettings,
  loginError: string | undefined,
  changes: string,
) {
  const seconds = s.deadman!.timeoutSeconds;
  const what = loginError
    ? `a fresh SSH login with the deploy key failed after activation (${loginError}). The dead-man switch fired after ${seconds} s: the host restored the previous config by itself and the deploy key can log in again.`
    : `the dead-man switch fired before the change could be confirmed; the previous config is back. Raise deadman.timeoutSeconds (now ${seconds}).`;
  return new Error(
    `${t.name}: ${s.service}: ${what}` + (changes ? `\nAttempted change:\n${changes}` : ""),
  );
}

/**
 * Runs one transaction on `t`; returns its report (originals of captured paths) and the host
 * key the host presented. Throws with the host's own words when it failed.
 */
export async function runTransaction(
  t: SshTarget,
  s: TxnSettings,
  ops: readonly FileOp[],
  capture: readonly string[],
  changes: string,
): Promise<{ report: TxnReport; hostKey: HostKey }> {
  const input: TransactionInput = {
    service: s.service,
    ops,
    capture,
    validate: s.validate,
    activate: s.activate,
    verify: s.verify,
    deadmanSeconds: s.deadman?.timeoutSeconds,
    stepTimeoutSeconds: s.stepTimeoutSeconds,
    lockWaitSeconds: s.lockWaitSeconds,
    userWritableDirs: s.userWritableDirs,
    client: clientName(t),
  };
  const { bundle, sha256 } = buildBundle(input);
  const paths = ops.map((op) => op.path);
  const name = txnName(s.service);
  const dir = `${TXN_BASE}/${name}`;
  // Lock wait, every step, the dead-man wait, and slack for slow hosts.
  const deadlineMs =
    Date.now() +
    (s.lockWaitSeconds + 4 * s.stepTimeoutSeconds + (s.deadman?.timeoutSeconds ?? 0) + 120) * 1000;

  const session = await pooledSession(t);
  const firstKey = session.hostKey;
  // Every reconnection must meet the key the first session saw (first-use trust included).
  const pinned: SshTarget = { ...t, trusted: [firstKey], trustSource: "this run's first session" };
  try {
    const out = await runHost(
      session,
      hostCommand("begin", [TXN_BASE, sha256, name]),
      `${s.service} upload`,
      { stdin: bundle },
    );
    const begun = parseTxnOutput(out);
    if (begun.failed) throw transactionError(t.name, s, begun, changes, paths);
  } catch (e) {
    // The answer was lost, not necessarily the upload: follow() finds the dir if it started.
    if (!lostConnection(e)) throw e;
  }
  const fault = faultFromEnv();
  injectFault(fault, "upload", session);

  const pooled = () => pooledSession(pinned);
  /** Removes the transaction dir; a failure to do so costs a warning, never the result. */
  const finish = async () => {
    try {
      await runHost(await pooled(), hostCommand("finish", [TXN_BASE, name]), `${s.service} finish`);
    } catch (e) {
      console.error(
        `warning: ${t.name}: could not remove ${dir} (${(e as Error).message}); the next transaction on this host will.`,
      );
    }
  };
  let report = await follow(t, dir, s.deadman ? "armed" : "final", pooled, deadlineMs, fault);
  reportOrphans(t, report.orphans);
  if (report.state === "missing" || report.state === "unstarted") {
    await finish();
    throw new Error(
      `${t.name}: ${s.service}: the connection dropped while the transaction was sent and it never started on the host. Nothing was written; the host is unchanged.`,
    );
  }
  let loginError: string | undefined;
  if (report.state === "armed") {
    ({ report, loginError } = await confirmDeadman(t, pinned, s, dir, deadlineMs));
  }
  await finish();
  if (report.expired && report.steps.rollback?.rc === 0) {
    throw deadmanError(t, s, loginError, changes);
  }
  if (!report.done) throw transactionError(t.name, s, report, changes, paths);
  return { report, hostKey: firstKey };
}
