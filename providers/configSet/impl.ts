/**
 * The ConfigSet provider's side effects. Loaded by the dynamic provider process at call
 * time (see provider.ts), never serialized into state.
 */
import { readFileSync } from "node:fs";
import { expandHome } from "../../common/paths";
import { HostKey, formatHostKey, knownHostKeys, parseHostKey, sameKey } from "../ssh/hostKeys";
import { pooledSession } from "../ssh/pool";
import { SshSession, SshTarget, connect } from "../ssh/session";
import {
  Plan,
  buildOutputs,
  describeChanges,
  diffState,
  inputsFromOutputs,
  maskSecrets,
  planApply,
  planDelete,
  sha256,
} from "./plan";
import {
  TxnReport,
  buildApplyScript,
  buildConfirmScript,
  buildReadScript,
  parseReadOutput,
  parseTxnOutput,
} from "./script";
import { mergeSecretContents, validateInputs, withDefaults } from "./validate";
import {
  CONFIG_SET_DEFAULTS,
  FileState,
  Original,
  UNKNOWN,
  WireConnection,
  WireInputs,
  WireOutputs,
} from "./wire";

/** Extra wait after a dead-man deadline before checking that the host restored itself. */
const DEADMAN_GRACE_MS = 5_000;

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

/** Root needs no sudo; everyone else must have it without a password (`-n` fails instead of prompting). */
const asRoot = (t: SshTarget, cmd: string) => (t.user === "root" ? cmd : `sudo -n ${cmd}`);

async function runScript(session: SshSession, script: string, label: string): Promise<string> {
  const t = session.target;
  const res = await session.exec(asRoot(t, "sh -s"), { stdin: script, label });
  if (!res.stdout.includes("@okome ") && res.code !== 0) {
    const why = res.stderr.trim() || `exit ${res.code ?? res.signal}`;
    const hint = /sudo/.test(why) ? ` (the deploy user ${t.user} needs passwordless sudo)` : "";
    throw new Error(`${t.name}: ${label} could not start: ${why}${hint}`);
  }
  return res.stdout;
}

interface TxnSettings {
  service: string;
  validate?: string;
  activate: string;
  verify?: string;
  deadman?: { timeoutSeconds: number };
}

const STEP_COMMAND: Record<string, (s: TxnSettings) => string | undefined> = {
  validate: (s) => s.validate,
  activate: (s) => s.activate,
  verify: (s) => s.verify,
};

/** The resource error for a failed transaction: the host, the phase, the tool's own words. */
export function transactionError(
  host: string,
  s: TxnSettings,
  report: TxnReport,
  changes: string,
): Error {
  const phase = report.failed ?? "transaction";
  const step = report.steps[phase];
  const cmd = STEP_COMMAND[phase]?.(s);
  const status = step
    ? step.rc === 124
      ? `timed out after ${CONFIG_SET_DEFAULTS.stepTimeoutSeconds} s`
      : `exited ${step.rc}`
    : "failed";
  const lines = [`${host}: ${s.service}: ${phase} ${cmd ? `(\`${cmd}\`) ` : ""}${status}.`];
  if (step?.output.trim()) lines.push(step.output.trimEnd());
  if (report.notFile.length > 0) lines.push("A managed path is a directory on the host.");
  const rollback = report.steps.rollback;
  if (report.gone) {
    lines.push("The dead-man switch had already restored the previous config.");
  } else if (!rollback) {
    lines.push("Nothing was written; the host is unchanged.");
  } else if (rollback.rc === 0) {
    lines.push(
      "The previous config was restored and re-activated; temp and backup files were removed.",
    );
  } else {
    lines.push(
      `ROLLBACK FAILED (exit ${rollback.rc}); the host may be on a mixed config, fix it by hand:`,
      rollback.output.trimEnd(),
    );
  }
  if (changes) lines.push("Attempted change:", changes);
  return new Error(lines.join("\n"));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The dead-man second half: a FRESH login with the deploy key (the pooled connection
 * survives an sshd reload and proves nothing), then disarm and verify over it.
 */
async function confirmDeadman(
  t: SshTarget,
  s: TxnSettings,
  txnDir: string,
  armedAt: number,
  changes: string,
): Promise<void> {
  const timeoutMs = s.deadman!.timeoutSeconds * 1000;
  let fresh: SshSession;
  try {
    fresh = await connect(t, { retries: 2, backoffMs: 500 });
  } catch (e) {
    const reason = (e as Error).message;
    const wait = armedAt + timeoutMs + DEADMAN_GRACE_MS - Date.now();
    if (wait > 0) await sleep(wait);
    let after: string;
    try {
      (await connect(t, { retries: 3, backoffMs: 1000 })).close();
      after = "the host restored the previous config by itself and the deploy key can log in again";
    } catch (e2) {
      after = `login still fails after the deadline (${(e2 as Error).message}); check the host's console`;
    }
    throw new Error(
      `${t.name}: ${s.service}: a fresh SSH login with the deploy key failed after activation (${reason}). ` +
        `The dead-man switch fired after ${s.deadman!.timeoutSeconds} s: ${after}.` +
        (changes ? `\nAttempted change:\n${changes}` : ""),
    );
  }
  try {
    const report = parseTxnOutput(
      await runScript(
        fresh,
        buildConfirmScript(txnDir, s.verify, CONFIG_SET_DEFAULTS.stepTimeoutSeconds),
        `${s.service} confirm`,
      ),
    );
    if (report.gone) {
      throw new Error(
        `${t.name}: ${s.service}: the dead-man switch fired before the change could be confirmed; ` +
          `the previous config is back. Raise deadman.timeoutSeconds (now ${s.deadman!.timeoutSeconds}).`,
      );
    }
    if (!report.done) throw transactionError(t.name, s, report, changes);
  } finally {
    fresh.close();
  }
}

/** Runs one transaction; returns the originals of captured paths and the key the host presented. */
async function transact(
  conn: WireConnection,
  stateHostKey: string | undefined,
  s: TxnSettings,
  plan: Plan,
  olds: WireOutputs | undefined,
): Promise<{ captured: Record<string, Original>; hostKey: string }> {
  const t = resolveTarget(conn, stateHostKey);
  const session = await pooledSession(t);
  const script = buildApplyScript({
    service: s.service,
    ops: plan.ops,
    capture: plan.capture,
    validate: s.validate,
    activate: s.activate,
    verify: s.verify,
    deadmanSeconds: s.deadman?.timeoutSeconds,
    stepTimeoutSeconds: CONFIG_SET_DEFAULTS.stepTimeoutSeconds,
  });
  const armedAt = Date.now();
  const report = parseTxnOutput(await runScript(session, script, `${s.service} transaction`));
  const changes = describeChanges(olds, plan.ops);
  if (!report.done && !report.armed) throw transactionError(t.name, s, report, changes);
  if (report.armed) await confirmDeadman(t, s, report.txnDir!, armedAt, changes);
  const captured: Record<string, Original> = {};
  plan.capture.forEach((p, i) => {
    if (report.originals[i]) captured[p] = report.originals[i];
  });
  return { captured, hostKey: formatHostKey(session.hostKey) };
}

const hasUnknowns = (v: unknown) => JSON.stringify(v).includes(UNKNOWN);

export async function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const { merged, issues: mergeIssues } = mergeSecretContents(news);
  const issues = [...mergeIssues, ...validateInputs(merged)];
  if (issues.length > 0) {
    return { inputs: news, failures: issues.map((i) => ({ property: i.path, reason: i.reason })) };
  }
  return { inputs: maskSecrets(withDefaults(merged)) };
}

export async function diff(_id: string, olds: WireOutputs, news: WireInputs) {
  if (hasUnknowns(news)) return { changes: true };
  const { changes, replaces } = diffState(olds, news);
  return { changes, replaces, deleteBeforeReplace: true };
}

export async function create(inputs: WireInputs) {
  const plan = planApply(undefined, inputs);
  const { captured, hostKey } = await transact(
    inputs.connection,
    undefined,
    inputs,
    plan,
    undefined,
  );
  const outs = buildOutputs(inputs, undefined, captured, hostKey);
  return { id: `${inputs.connection.name}:${inputs.service}`, outs: maskSecrets(outs) };
}

export async function update(_id: string, olds: WireOutputs, news: WireInputs) {
  const plan = planApply(olds, news);
  let hostKey = olds.hostKey;
  let captured: Record<string, Original> = {};
  // Only settings changed (a command, the key path): record them, touch nothing.
  if (plan.ops.length > 0)
    ({ captured, hostKey } = await transact(news.connection, olds.hostKey, news, plan, olds));
  return { outs: maskSecrets(buildOutputs(news, olds, captured, hostKey)) };
}

/** Fetches what the host really holds, so refresh shows hand edits as drift. */
export async function read(id: string, props: WireOutputs) {
  if (!props?.files)
    throw new Error(`ConfigSet ${id}: nothing in state to read (import is not supported)`);
  const t = resolveTarget(props.connection, props.hostKey);
  const session = await pooledSession(t);
  const paths = Object.keys(props.files);
  const live = parseReadOutput(
    await runScript(session, buildReadScript(paths), `${props.service} read`),
    paths.length,
  );
  const files: Record<string, FileState> = {};
  paths.forEach((p, i) => {
    const l = live[i];
    if (l.present) {
      const { present: _p, ...meta } = l;
      void _p;
      files[p] = {
        ...meta,
        secret: props.files[p].secret,
        dirMode: props.files[p].dirMode,
        sha256: sha256(l.content),
      };
    }
  });
  const outs: WireOutputs = { ...props, files };
  return { id, props: maskSecrets(outs), inputs: maskSecrets(inputsFromOutputs(outs)) };
}

/** Puts back what each path held before the set (originals from state), then re-activates. */
export async function remove(_id: string, props: WireOutputs) {
  const plan = planDelete(props);
  // The service's probe checks this set's config, which is going away: no verify on delete.
  const settings: TxnSettings = { ...props, verify: undefined };
  await transact(props.connection, props.hostKey, settings, plan, props);
}

export type ConfigSetImpl = {
  check: typeof check;
  diff: typeof diff;
  create: typeof create;
  update: typeof update;
  read: typeof read;
  delete: typeof remove;
};

export const implementation: ConfigSetImpl = { check, diff, create, update, read, delete: remove };
