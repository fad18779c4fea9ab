import { createHash } from "node:crypto";
import { createTwoFilesPatch } from "diff";
import { maskConnection, wrapSecret } from "../host/wire";
import { FileState, Original, WireFile, WireInputs, WireOutputs } from "./wire";

export function sha256(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex");
}

/** One step of a transaction on one path. */
export type FileOp =
  | { readonly path: string; readonly kind: "write"; readonly file: WireFile }
  | { readonly path: string; readonly kind: "restore"; readonly original: Original };

export interface Plan {
  /** What the transaction changes, by path; empty means no session is opened at all. */
  readonly ops: readonly FileOp[];
  /** Paths new to the set, whose current state becomes their recorded original. */
  readonly capture: readonly string[];
}

const sameMeta = (a: WireFile, b: WireFile) =>
  a.mode === b.mode && a.owner === b.owner && a.group === b.group;

/** True when the file on record (state or refreshed host) differs from the wanted one. */
export function fileDiffers(have: FileState | undefined, want: WireFile): boolean {
  return have === undefined || have.sha256 !== sha256(want.content) || !sameMeta(have, want);
}

/** The transaction that takes the recorded state `olds` (undefined on create) to `news`. */
export function planApply(olds: WireOutputs | undefined, news: WireInputs): Plan {
  const have = olds?.files ?? {};
  const ops: FileOp[] = [];
  for (const [path, file] of Object.entries(news.files)) {
    if (fileDiffers(have[path], file)) ops.push({ path, kind: "write", file });
  }
  for (const path of Object.keys(have)) {
    if (!(path in news.files))
      ops.push({ path, kind: "restore", original: olds!.originals[path] ?? { kind: "absent" } });
  }
  ops.sort((a, b) => a.path.localeCompare(b.path));
  // A path drops out of `files` when refresh finds it gone; its original is still on record.
  const capture = Object.keys(news.files).filter((p) => !(olds && p in olds.originals));
  return { ops, capture };
}

/** Puts back what every path held before the set wrote it. */
export function planDelete(olds: WireOutputs): Plan {
  const paths = [...new Set([...Object.keys(olds.files), ...Object.keys(olds.originals)])].sort();
  return {
    ops: paths.map((path) => ({
      path,
      kind: "restore",
      original: olds.originals[path] ?? { kind: "absent" },
    })),
    capture: [],
  };
}

/** Everything but the files: a change here is recorded in state without touching the host. */
const settings = (i: Omit<WireInputs, "files" | "listIssues" | "secretContents">) =>
  JSON.stringify([
    i.connection,
    i.kind ?? null,
    i.service,
    i.validate ?? null,
    i.activate,
    i.verify ?? null,
    i.deadman ?? null,
    i.stepTimeoutSeconds ?? null,
    i.lockWaitSeconds ?? null,
    i.userWritableDirs ?? null,
  ]);

/**
 * The engine's diff, from state alone (no SSH: PR previews have no route to the hosts).
 * A new host name is a different machine, so the set is replaced; the old host gets its
 * originals back first, in case both names reach the same machine.
 */
export function diffState(
  olds: WireOutputs,
  news: WireInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = olds.connection.name !== news.connection.name ? ["connection"] : [];
  const changes =
    replaces.length > 0 ||
    planApply(olds, news).ops.length > 0 ||
    settings(olds) !== settings(news);
  return { changes, replaces };
}

/** The state after a successful transaction. */
export function buildOutputs(
  news: WireInputs,
  previous: WireOutputs | undefined,
  captured: Readonly<Record<string, Original>>,
  hostKey: string,
): WireOutputs {
  const files: Record<string, FileState> = {};
  const originals: Record<string, Original> = {};
  for (const [path, f] of Object.entries(news.files)) {
    files[path] = { ...f, sha256: sha256(f.content) };
    const original = previous?.originals[path] ?? captured[path];
    if (original) originals[path] = original;
  }
  const { listIssues: _issues, secretContents: _secrets, ...inputs } = news;
  void [_issues, _secrets];
  return { ...inputs, files, host: news.connection.name, hostKey, originals };
}

/**
 * The inputs a refresh reports: the recorded inputs with what the host really holds, so
 * the next preview shows a hand edit as a line diff against the program's content.
 */
export function inputsFromOutputs(outs: WireOutputs): WireInputs {
  const files: Record<string, WireFile> = {};
  for (const [path, f] of Object.entries(outs.files)) {
    files[path] = {
      content: f.content,
      mode: f.mode,
      owner: f.owner,
      group: f.group,
      secret: f.secret,
      ...(f.dirMode !== undefined && { dirMode: f.dirMode }),
    };
  }
  const { host: _h, hostKey: _k, originals: _o, ...rest } = outs;
  void [_h, _k, _o];
  return { ...rest, files };
}

/**
 * Marks what must stay encrypted in state. The engine cannot do it for us: the provider
 * sees inputs without their secret bit, and the engine would taint whole objects otherwise.
 * At preview some values are still unknown (a string marker): those pass through.
 */
export function maskSecrets<T extends WireInputs | WireOutputs>(props: T): T {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  const out = { ...maskConnection(props) } as Record<string, unknown>;
  const secretPaths = new Set<string>();
  if (isObj(props.files)) {
    const files: Record<string, unknown> = {};
    for (const [path, f] of Object.entries(props.files)) {
      if (isObj(f) && f.secret === true) {
        secretPaths.add(path);
        files[path] = {
          ...f,
          content: wrapSecret(f.content),
          ...("sha256" in f && { sha256: wrapSecret(f.sha256) }),
        };
      } else {
        files[path] = f;
      }
    }
    out.files = files;
  }
  if ("originals" in props && isObj(props.originals)) {
    const originals: Record<string, unknown> = {};
    for (const [path, o] of Object.entries(props.originals)) {
      originals[path] =
        o.kind === "file" && secretPaths.has(path) ? { ...o, content: wrapSecret(o.content) } : o;
    }
    out.originals = originals;
  }
  return out as T;
}

/**
 * What a failed transaction tried to change, as a unified diff with line numbers, so a
 * validator's "line 12" can be found. Secret files are named, never shown.
 */
export function describeChanges(olds: WireOutputs | undefined, ops: readonly FileOp[]): string {
  return ops
    .map((op) => {
      if (op.kind === "restore") return `${op.path}: restored to its original`;
      if (op.file.secret) return `${op.path}: secret content changed (not shown)`;
      const before = olds?.files[op.path];
      if (before && before.secret) return `${op.path}: secret content changed (not shown)`;
      const patch = createTwoFilesPatch(
        op.path,
        op.path,
        before?.content ?? "",
        op.file.content,
        "",
        "",
        {
          context: 2,
        },
      );
      // Drop the "Index:"/"===" banner; keep ---/+++ and hunks.
      return patch
        .split("\n")
        .filter((l, i) => i > 1 || l.startsWith("---"))
        .join("\n")
        .trimEnd();
    })
    .join("\n");
}
