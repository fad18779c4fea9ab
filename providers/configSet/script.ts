/**
 * The shell a config transaction runs on the host (POSIX sh, as root via `sudo -n sh -s`,
 * script on stdin so file contents never show in `ps`). Pure text generation and output
 * parsing; nothing here touches a host.
 *
 * Layout on the host while a transaction runs: a private temp dir (mktemp -d, 0700) under
 * /var/tmp holds the backups `<i>.orig` / `<i>.absent`, each step's output and restore.sh.
 * New files are written as `.<name>.okome-new` beside their target and renamed over it,
 * so a service never reads a half-written file and no include glob (`*.conf`) matches them.
 * The dir is removed when the transaction ends, whichever way.
 */
import { FileOp } from "./plan";
import { Original } from "./wire";

/** Where transaction dirs live; also what tests look at to prove nothing is left behind. */
export const TXN_BASE = "/var/tmp";
export const TXN_PREFIX = "okome-txn-";
export const NEW_SUFFIX = ".okome-new";

/** Quotes a string for POSIX sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const PREAMBLE = `set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 077
CLAIMED=0`;

/**
 * Directories: a write may create missing parents; the top-most one created is recorded
 * (`topmissing`) so a rollback or delete removes exactly those again, and only if empty.
 */
const DIRS = `topmissing() {
  d=$(dirname -- "$1"); t=""
  while [ ! -e "$d" ]; do t=$d; d=$(dirname -- "$d"); done
  printf '%s' "$t"
}
prune() {
  [ -n "$2" ] || return 0
  d=$(dirname -- "$1")
  while rmdir -- "$d" 2> /dev/null; do [ "$d" = "$2" ] && break; d=$(dirname -- "$d"); done
  return 0
}`;

/** Helpers shared by the apply and confirm scripts. `$T` is the transaction dir. */
const HELPERS = `emit() { printf '@okome out %s %s %s\\n' "$1" "$2" "$(base64 -w0 < "$3")"; }
step() {
  timeout "$STEP_TIMEOUT" sh -c "$2" > "$T/$1.out" 2>&1 < /dev/null
  r=$?; emit "$1" "$r" "$T/$1.out"; return $r
}
cancel_deadman() {
  if [ -f "$T/deadman.unit" ]; then systemctl stop "$(cat "$T/deadman.unit").timer" > /dev/null 2>&1; fi
  if [ -f "$T/deadman.pid" ]; then kill -TERM -- "-$(cat "$T/deadman.pid")" 2> /dev/null; fi
  return 0
}
fail() {
  if [ "$CLAIMED" = 0 ] && { [ -f "$T/deadman.unit" ] || [ -f "$T/deadman.pid" ]; }; then
    mkdir "$T/claimed" 2> /dev/null || { echo '@okome gone'; exit 1; }
    cancel_deadman
  fi
  echo "@okome failed $1"
  sh "$T/restore.sh" > "$T/rollback.out" 2>&1
  emit rollback $? "$T/rollback.out"
  rm -rf -- "$T"
  exit 1
}`;

/** Writes stdin (base64) to $1 atomically with mode $2, owner $3, group $4. */
const PUT = `put() {
  n="$(dirname -- "$1")/.$(basename -- "$1")${NEW_SUFFIX}"
  (umask 022 && mkdir -p -- "$(dirname -- "$1")") &&
    base64 -d > "$n" && chown -- "$3:$4" "$n" && chmod -- "$2" "$n" && mv -fT -- "$n" "$1" ||
    { rm -f -- "$n"; return 1; }
}
relink() {
  n="$(dirname -- "$1")/.$(basename -- "$1")${NEW_SUFFIX}"
  rm -f -- "$n" && ln -s -- "$2" "$n" && mv -fT -- "$n" "$1" || { rm -f -- "$n"; return 1; }
}`;

function base64Lines(content: string): string {
  return (
    Buffer.from(content, "utf8")
      .toString("base64")
      .match(/.{1,76}/g) ?? []
  ).join("\n");
}

/** The shell that puts one path into the state an op asks for. */
function applyOp(op: FileOp): string {
  const path = shQuote(op.path);
  const put = (content: string, mode: string, owner: string, group: string) =>
    `put ${path} ${mode} ${shQuote(owner)} ${shQuote(group)} <<'OKOME_EOF' || fail write\n${base64Lines(content)}\nOKOME_EOF`;
  if (op.kind === "write") return put(op.file.content, op.file.mode, op.file.owner, op.file.group);
  const o: Original = op.original;
  if (o.kind === "file") return put(o.content, o.mode, o.owner, o.group);
  if (o.kind === "link") return `relink ${path} ${shQuote(o.target)} || fail write`;
  return `{ rm -f -- ${path} && prune ${path} ${shQuote(o.createdDir ?? "")}; } || fail write`;
}

/** restore.sh: puts every backed-up path back and re-activates; run on failure or by the dead-man timer. */
function restoreScript(paths: readonly string[], activate: string, stepTimeout: number): string {
  const backs = paths.map((p, i) => `back ${i} ${shQuote(p)}`).join("\n");
  return `${PREAMBLE}
${DIRS}
T=$(cd "$(dirname -- "$0")" && pwd)
ok=0
back() {
  n="$(dirname -- "$2")/.$(basename -- "$2")${NEW_SUFFIX}"
  if [ -e "$T/$1.absent" ]; then
    rm -f -- "$2" && prune "$2" "$(cat "$T/$1.absent")" || ok=1
  elif [ -e "$T/$1.orig" ] || [ -L "$T/$1.orig" ]; then
    rm -f -- "$n"; cp -a -- "$T/$1.orig" "$n" && mv -fT -- "$n" "$2" || { rm -f -- "$n"; ok=1; }
  fi
}
${backs}
timeout ${stepTimeout} sh -c ${shQuote(activate)} || ok=1
exit $ok`;
}

export interface ApplyScriptInput {
  readonly service: string;
  readonly ops: readonly FileOp[];
  /** Paths whose current state is reported as `@okome orig` lines, before anything is written. */
  readonly capture: readonly string[];
  readonly validate?: string;
  readonly activate: string;
  readonly verify?: string;
  /** Arms the dead-man switch; verify then runs in the confirm script instead. */
  readonly deadmanSeconds?: number;
  readonly stepTimeoutSeconds: number;
  /** Parent of the transaction dir; tests point it elsewhere. */
  readonly txnBase?: string;
}

/**
 * The transaction: back up -> write -> validate -> [arm dead-man] -> activate -> verify,
 * and on any failure restore, re-activate and clean up. Protocol lines on stdout:
 * `@okome txn <dir>`, `@okome orig ...`, `@okome out <step> <rc> <base64 output>`,
 * `@okome failed <phase>`, `@okome deadman <how> <id>`, `@okome armed`, `@okome done`.
 */
export function buildApplyScript(input: ApplyScriptInput): string {
  const paths = input.ops.map((op) => op.path);
  const base = input.txnBase ?? TXN_BASE;
  const lines: string[] = [
    `# okome-cache config transaction for ${input.service}`,
    PREAMBLE,
    `STEP_TIMEOUT=${input.stepTimeoutSeconds}`,
    `T=$(mktemp -d ${shQuote(`${base}/${TXN_PREFIX}${input.service}-XXXXXX`)}) || { echo '@okome failed setup'; exit 1; }`,
    `echo "@okome txn $T"`,
    HELPERS,
    DIRS,
    PUT,
    `cat > "$T/restore.sh" <<'OKOME_RESTORE'\n${restoreScript(paths, input.activate, input.stepTimeoutSeconds)}\nOKOME_RESTORE`,
    // Nothing is written until every path is backed up; a directory in the way fails here.
    `backup() {
  if [ -d "$2" ] && [ ! -L "$2" ]; then echo "@okome notfile $1"; return 1; fi
  if [ -e "$2" ] || [ -L "$2" ]; then cp -a -- "$2" "$T/$1.orig"; else topmissing "$2" > "$T/$1.absent"; fi
}`,
    ...paths.map(
      (p, i) =>
        `backup ${i} ${shQuote(p)} || { echo '@okome failed backup'; rm -rf -- "$T"; exit 1; }`,
    ),
    `capture() {
  if [ -L "$2" ]; then printf '@okome orig %s link %s\\n' "$1" "$(printf %s "$(readlink -- "$2")" | base64 -w0)"
  elif [ -f "$2" ]; then printf '@okome orig %s file %s %s\\n' "$1" "$(stat -c '%a %U %G' -- "$2")" "$(base64 -w0 < "$2")"
  else printf '@okome orig %s absent %s\\n' "$1" "$(topmissing "$2" | base64 -w0)"; fi
}`,
    ...input.capture.map((p, i) => `capture ${i} ${shQuote(p)}`),
    ...input.ops.map(applyOp),
  ];
  if (input.validate !== undefined)
    lines.push(`step validate ${shQuote(input.validate)} || fail validate`);
  if (input.deadmanSeconds !== undefined) {
    lines.push(armDeadman(input.deadmanSeconds));
  }
  lines.push(`step activate ${shQuote(input.activate)} || fail activate`);
  if (input.deadmanSeconds !== undefined) {
    lines.push(`echo '@okome armed'`);
  } else {
    if (input.verify !== undefined)
      lines.push(`step verify ${shQuote(input.verify)} || fail verify`);
    lines.push(`rm -rf -- "$T"`, `echo '@okome done'`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Schedules restore.sh after `seconds` unless the provider claims the transaction first
 * (`mkdir claimed` is the lock both sides take). A systemd transient timer survives the
 * SSH session and sshd restarts; without systemd a detached `sleep` in its own session.
 */
function armDeadman(seconds: number): string {
  return `job="mkdir '$T/claimed' 2> /dev/null || exit 0; sh '$T/restore.sh'; rm -rf -- '$T'"
if [ -d /run/systemd/system ] && command -v systemd-run > /dev/null 2>&1; then
  unit="okome-deadman-$(basename -- "$T")"
  systemd-run --quiet --collect --unit="$unit" --on-active=${seconds} --timer-property=AccuracySec=1s /bin/sh -c "$job" > "$T/deadman.out" 2>&1 ||
    { emit deadman 1 "$T/deadman.out"; fail deadman; }
  echo "$unit" > "$T/deadman.unit"
  echo "@okome deadman systemd $unit"
else
  setsid sh -c "sleep ${seconds}; $job" > /dev/null 2>&1 < /dev/null &
  echo $! > "$T/deadman.pid"
  echo "@okome deadman sleep $!"
fi`;
}

/**
 * Run after a fresh SSH login proved the host still lets the deploy key in: disarms the
 * dead-man switch, then verifies (rolling back on failure). `@okome gone` means the timer
 * won the race and the old config is already back.
 */
export function buildConfirmScript(
  txnDir: string,
  verify: string | undefined,
  stepTimeoutSeconds: number,
): string {
  return (
    [
      PREAMBLE,
      `STEP_TIMEOUT=${stepTimeoutSeconds}`,
      `T=${shQuote(txnDir)}`,
      HELPERS,
      `mkdir "$T/claimed" 2> /dev/null || { echo '@okome gone'; exit 1; }`,
      `CLAIMED=1`,
      `cancel_deadman`,
      ...(verify !== undefined ? [`step verify ${shQuote(verify)} || fail verify`] : []),
      `rm -rf -- "$T"`,
      `echo '@okome done'`,
    ].join("\n") + "\n"
  );
}

/** Reads each path's content and metadata (following links, as the service would). */
export function buildReadScript(paths: readonly string[]): string {
  return (
    [
      PREAMBLE,
      `rd() {
  if [ -f "$2" ]; then printf '@okome file %s %s %s\\n' "$1" "$(stat -L -c '%a %U %G' -- "$2")" "$(base64 -w0 < "$2")"
  else printf '@okome file %s absent\\n' "$1"; fi
}`,
      ...paths.map((p, i) => `rd ${i} ${shQuote(p)}`),
    ].join("\n") + "\n"
  );
}

/** What a transaction's stdout says happened. */
export interface TxnReport {
  txnDir?: string;
  /** Phase that failed (setup, backup, write, validate, deadman, activate, verify). */
  failed?: string;
  /** The dead-man timer had already restored the old config. */
  gone: boolean;
  armed: boolean;
  done: boolean;
  deadman?: { how: string; id: string };
  /** Output and exit code of each step that ran, by step name (incl. rollback). */
  steps: Record<string, { rc: number; output: string }>;
  /** Index into `capture` -> original state. */
  originals: Record<number, Original>;
  notFile: number[];
}

const decode = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64").toString("utf8");

export function parseTxnOutput(stdout: string): TxnReport {
  const r: TxnReport = {
    gone: false,
    armed: false,
    done: false,
    steps: {},
    originals: {},
    notFile: [],
  };
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("@okome ")) continue;
    const f = line.slice(7).split(" ");
    switch (f[0]) {
      case "txn":
        r.txnDir = f[1];
        break;
      case "failed":
        r.failed = f[1];
        break;
      case "gone":
        r.gone = true;
        break;
      case "armed":
        r.armed = true;
        break;
      case "done":
        r.done = true;
        break;
      case "deadman":
        r.deadman = { how: f[1], id: f[2] };
        break;
      case "notfile":
        r.notFile.push(Number(f[1]));
        break;
      case "out":
        r.steps[f[1]] = { rc: Number(f[2]), output: decode(f[3]) };
        break;
      case "orig": {
        const i = Number(f[1]);
        if (f[2] === "absent") {
          const createdDir = decode(f[3]);
          r.originals[i] = createdDir ? { kind: "absent", createdDir } : { kind: "absent" };
        } else if (f[2] === "link") r.originals[i] = { kind: "link", target: decode(f[3]) };
        else
          r.originals[i] = {
            kind: "file",
            mode: f[3].padStart(4, "0"),
            owner: f[4],
            group: f[5],
            content: decode(f[6]),
          };
        break;
      }
    }
  }
  return r;
}

/** Live state of one path as the read script reports it. */
export type LiveFile =
  | { present: false }
  | { present: true; content: string; mode: string; owner: string; group: string };

export function parseReadOutput(stdout: string, count: number): LiveFile[] {
  const files: (LiveFile | undefined)[] = new Array(count).fill(undefined);
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("@okome file ")) continue;
    const f = line.slice(12).split(" ");
    const i = Number(f[0]);
    files[i] =
      f[1] === "absent"
        ? { present: false }
        : {
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
