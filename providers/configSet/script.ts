/**
 * What a config transaction sends to a host and how its answers read. Pure: nothing here
 * touches a host. The shell itself lives in host/*.sh (seen by shellcheck):
 *  - begin.sh receives the whole transaction (a bundle: manifest, file contents, step
 *    commands, txn.sh), checks its digest and starts txn.sh detached from the SSH session;
 *  - txn.sh runs it under the host's transaction lock and writes progress to <dir>/log;
 *  - wait.sh streams that log until the transaction ends; finish.sh removes the dir.
 * The transaction dirs live in a root-only dir on the host's disk (TXN_BASE): they hold
 * backups, which can be secrets, and must outlive a reboot for the dead-man switch.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { shQuote } from "../host/shell";
import { FileOp } from "./plan";
import { CONFIG_SET_DEFAULTS, Original } from "./wire";

/** Where transaction dirs live on a host; also what tests look at to prove nothing is left. */
export const TXN_BASE = "/var/lib/okome/txn";
/** The prefix of the temp files a write creates beside its target. */
export const NEW_PREFIX = ".okome-new.";

export type HostScript =
  "lib" | "begin" | "txn" | "wait" | "finish" | "confirm" | "read" | "recover";

/** The text of host/<name>.sh. */
export function hostScript(name: HostScript): string {
  return readFileSync(path.join(__dirname, "host", `${name}.sh`), "utf8");
}

/** `sh -c '<host/name.sh>' okome-<name> args...`: one command line, the script never on disk. */
export function hostCommand(name: HostScript, args: readonly string[]): string {
  return ["sh", "-c", shQuote(hostScript(name)), `okome-${name}`, ...args.map(shQuote)].join(" ");
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
/** Base64 wrapped at 76 columns, as base64(1) writes and reads it. */
const b64Lines = (s: string) => (b64(s).match(/.{1,76}/g) ?? []).join("\n");

export interface TransactionInput {
  readonly service: string;
  readonly ops: readonly FileOp[];
  /** Paths whose state before the set is reported (`orig` lines); each is also an op's path. */
  readonly capture: readonly string[];
  readonly validate?: string;
  readonly activate: string;
  readonly verify?: string;
  /** Arms the dead-man switch: the host restores the old files unless confirmed in time. */
  readonly deadmanSeconds?: number;
  readonly stepTimeoutSeconds: number;
  readonly lockWaitSeconds: number;
  /** Directories a non-root user may write that the set expects (others are refused). */
  readonly userWritableDirs: readonly string[];
  /** Who runs it ("okome@deploy-box pid 4242"), shown to a run that waits for the lock. */
  readonly client: string;
}

/** The manifest line of one op, and the content it writes (if any). */
function opLine(op: FileOp, n: number): { line: string; content?: string } {
  const p = b64(op.path);
  if (op.kind === "write") {
    const f = op.file;
    const dirMode = f.dirMode ?? CONFIG_SET_DEFAULTS.dirMode;
    return {
      line: `op ${n} write ${p} ${f.mode} ${f.owner} ${f.group} ${dirMode}`,
      content: f.content,
    };
  }
  const o: Original = op.original;
  if (o.kind === "file") {
    return { line: `op ${n} restore ${p} ${o.mode} ${o.owner} ${o.group}`, content: o.content };
  }
  return { line: `op ${n} remove ${p} ${o.createdDir ? b64(o.createdDir) : "-"}` };
}

/**
 * The transaction as one text bundle for begin.sh: `--okome-file <name>` sections, each the
 * base64 of one file, and its sha256, which begin.sh checks before anything runs.
 */
export function buildBundle(input: TransactionInput): { bundle: string; sha256: string } {
  const manifest: string[] = [
    `service ${input.service}`,
    `step_timeout ${input.stepTimeoutSeconds}`,
    `lock_wait ${input.lockWaitSeconds}`,
    ...(input.deadmanSeconds !== undefined ? [`deadman ${input.deadmanSeconds}`] : []),
    `client ${b64(input.client)}`,
    ...input.userWritableDirs.map((d) => `allow ${b64(d)}`),
  ];
  const files: [string, string][] = [];
  input.ops.forEach((op, n) => {
    const { line, content } = opLine(op, n);
    manifest.push(line);
    if (content !== undefined) files.push([`new/${n}`, content]);
  });
  const opIndex = new Map(input.ops.map((op, n) => [op.path, n]));
  input.capture.forEach((p, i) => {
    const n = opIndex.get(p);
    if (n === undefined) throw new Error(`capture path ${p} is not written by the transaction`);
    manifest.push(`capture ${i} ${n}`);
  });
  const sections: [string, string][] = [
    ["manifest", manifest.join("\n") + "\n"],
    ["txn.sh", hostScript("txn")],
    ["lib.sh", hostScript("lib")],
    ["recover.sh", hostScript("recover")],
    ["recover.service", readFileSync(path.join(__dirname, "host", "recover.service"), "utf8")],
    ["activate", input.activate],
    ...(input.validate !== undefined ? [["validate", input.validate] as [string, string]] : []),
    ...(input.verify !== undefined ? [["verify", input.verify] as [string, string]] : []),
    ...files,
  ];
  const bundle =
    sections.map(([name, text]) => `--okome-file ${name}\n${b64Lines(text)}\n`).join("") +
    "--okome-end\n";
  return { bundle, sha256: createHash("sha256").update(bundle, "utf8").digest("hex") };
}

/** Why the host refused a managed path before writing anything. */
export type Refusal =
  | { kind: "link"; target: string }
  | { kind: "notfile" }
  | { kind: "parent"; dir: string; owner: string; mode: string };

/** A transaction nobody collected, found and reported by a later one. */
export interface Orphan {
  readonly name: string;
  /** Its state when found (running, armed: its runner died; or a final state). */
  readonly was: string;
  /** What became of it: rolled-back, rollback-failed, or collected (it had ended on its own). */
  readonly now: string;
  /** The phase it failed in, if it did. */
  readonly failed?: string;
}

/** What a transaction's log says happened. */
export interface TxnReport {
  /** The last state seen (queued, running, armed, done, failed, expired, ...); missing if the dir is gone. */
  state?: string;
  /** Phases entered, in order (lock, backup, write, validate, activate, armed, verify). */
  phases: string[];
  /** Phase that failed (upload, lock, backup, write, validate, activate, verify). */
  failed?: string;
  /** Why begin.sh refused the upload. */
  uploadError?: string;
  /** The dead-man deadline passed without a confirmation; the old files are back. */
  expired: boolean;
  done: boolean;
  /** Who held the lock, when this run had to wait for it or gave up. */
  holder?: string;
  /** Output and exit code of each step that ran, by step name (incl. rollback). */
  steps: Record<string, { rc: number; output: string }>;
  /** Index into `capture` -> original state. */
  originals: Record<number, Original>;
  /** Op index -> why the path was refused. */
  refused: Record<number, Refusal>;
  /** Where a failed rollback kept the backups on the host. */
  keptBackups?: string;
  orphans: Orphan[];
}

const decode = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");
const PROTOCOL = "@okome ";

export function parseTxnOutput(stdout: string): TxnReport {
  const r: TxnReport = {
    phases: [],
    expired: false,
    done: false,
    steps: {},
    originals: {},
    refused: {},
    orphans: [],
  };
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(PROTOCOL)) continue;
    const f = line.slice(PROTOCOL.length).split(" ");
    switch (f[0]) {
      case "state":
        r.state = f[1];
        break;
      case "phase":
        r.phases.push(f[1]);
        break;
      case "failed":
        r.failed = f[1];
        if (f[1] === "upload") r.uploadError = f.slice(2).join(" ");
        break;
      case "expired":
        r.expired = true;
        break;
      case "done":
        r.done = true;
        break;
      case "waiting":
      case "locked":
        r.holder = decode(f[1]).trim() || "an earlier transaction";
        break;
      case "out":
        r.steps[f[1]] = { rc: Number(f[2]), output: decode(f[3]) };
        break;
      case "kept":
        r.keptBackups = decode(f[1]);
        break;
      case "refused": {
        const n = Number(f[1]);
        if (f[2] === "link") r.refused[n] = { kind: "link", target: decode(f[3]) };
        else if (f[2] === "parent")
          r.refused[n] = { kind: "parent", dir: decode(f[3]), owner: f[4], mode: f[5] };
        else r.refused[n] = { kind: "notfile" };
        break;
      }
      case "orphan":
        r.orphans.push({
          name: decode(f[1]),
          was: f[2],
          now: f[3],
          ...(decode(f[4]) && { failed: decode(f[4]) }),
        });
        break;
      case "orig": {
        const i = Number(f[1]);
        if (f[2] === "absent") {
          const createdDir = decode(f[3]);
          r.originals[i] = createdDir ? { kind: "absent", createdDir } : { kind: "absent" };
        } else {
          r.originals[i] = {
            kind: "file",
            mode: f[3].padStart(4, "0"),
            owner: f[4],
            group: f[5],
            content: decode(f[6]),
          };
        }
        break;
      }
    }
  }
  return r;
}

/** True once nothing more will happen to the transaction on the host. */
export function isFinal(state: string | undefined): boolean {
  return (
    state !== undefined &&
    [
      "done",
      "failed",
      "expired",
      "rolled-back",
      "rollback-failed",
      "missing",
      "unstarted",
    ].includes(state)
  );
}

/** Live state of one path as read.sh reports it. */
export type LiveFile =
  | { present: false }
  | { present: true; content: string; mode: string; owner: string; group: string }
  | { present: "refused"; why: string };

export function parseReadOutput(stdout: string, count: number): LiveFile[] {
  const files: (LiveFile | undefined)[] = new Array(count).fill(undefined);
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(`${PROTOCOL}file `)) continue;
    const f = line.slice(`${PROTOCOL}file `.length).split(" ");
    const i = Number(f[0]);
    if (f[1] === "absent") files[i] = { present: false };
    else if (f[1] === "link")
      files[i] = { present: "refused", why: `is a symbolic link (to ${decode(f[2])})` };
    else if (f[1] === "notfile") files[i] = { present: "refused", why: "is not a regular file" };
    else
      files[i] = {
        present: true,
        mode: f[1].padStart(4, "0"),
        owner: f[2],
        group: f[3],
        content: decode(f[4]),
      };
  }
  const missing = files.findIndex((f) => f === undefined);
  if (missing >= 0) throw new Error(`read script reported nothing for file #${missing}`);
  return files as LiveFile[];
}
