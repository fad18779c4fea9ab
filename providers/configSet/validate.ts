import { Issue } from "../../common/issues";
import {
  Collector,
  UNIX_NAME,
  checkConnection,
  isObject,
  isUnknown,
  withConnectionDefaults,
} from "../host/validate";
import { UNKNOWN } from "../host/wire";
import { SSH_DEFAULTS } from "../ssh/session";
import { CONFIG_SET_DEFAULTS, CONFIG_SET_LIMITS, ServiceKind, WireFile, WireInputs } from "./wire";

/** Rules for one service kind. */
export interface ServiceRule {
  /** The validator the command must run, if one specific tool is the check. */
  readonly tool?: { readonly pattern: RegExp; readonly name: string };
  /** The set must carry a dead-man switch. */
  readonly deadman: boolean;
  /** Paths that belong to this kind: a set of another kind may not write them. */
  readonly owns: readonly string[];
  readonly why: string;
}

/**
 * Services whose config can take the host down with it, by kind. For these a validator is
 * not optional (STYLE: a validator nothing calls is worse than none); where the stock tool is
 * the only sound check, the command must run it. Services that can cut the deploy key's
 * access also need the dead-man switch. Keyed by the typed kind, never by the set's name, and
 * each kind owns its config paths, so no set can write nginx's files without `nginx -t`.
 */
export const SERVICE_RULES: Readonly<Record<Exclude<ServiceKind, "plain">, ServiceRule>> = {
  sshd: {
    tool: { pattern: /\bsshd\b.* -t\b/, name: "sshd -t" },
    deadman: true,
    owns: ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/"],
    why: "a broken sshd_config locks the deploy key out",
  },
  nftables: {
    tool: { pattern: /\bnft\b.* (-c|--check)\b/, name: "nft -c" },
    deadman: true,
    owns: ["/etc/nftables.conf", "/etc/nftables.d/"],
    why: "a bad ruleset can drop the SSH session",
  },
  nginx: {
    tool: { pattern: /\bnginx\b.* -[tT]\b/, name: "nginx -t" },
    deadman: false,
    owns: ["/etc/nginx/"],
    why: "a reload with a broken file stops the edge",
  },
  keepalived: {
    tool: { pattern: /\bkeepalived\b.* (-t|--config-test)\b/, name: "keepalived -t" },
    deadman: false,
    owns: ["/etc/keepalived/"],
    why: "a bad config drops the VIP",
  },
  // Checked by a throw-away redis-server, usually behind a script: any validator will do.
  redis: { deadman: false, owns: ["/etc/redis/"], why: "a bad config stops the model cache" },
};

export const SERVICE_KINDS: readonly ServiceKind[] = [
  "plain",
  ...(Object.keys(SERVICE_RULES) as ServiceKind[]),
];

/** The kind whose config `path` is, if any. */
export function owningKind(path: string): Exclude<ServiceKind, "plain"> | undefined {
  for (const [kind, rule] of Object.entries(SERVICE_RULES)) {
    if (rule.owns.some((o) => (o.endsWith("/") ? path.startsWith(o) : path === o)))
      return kind as Exclude<ServiceKind, "plain">;
  }
  return undefined;
}

// Also names the transaction dir and the dead-man systemd unit: no dots or @.
const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const OCTAL_MODE = /^[0-7]{3,4}$/;

/** Why `p` is not an acceptable managed path, or undefined. */
export function pathProblem(p: string): string | undefined {
  if (!p.startsWith("/")) return "must be an absolute path";
  if (p === "/" || p.endsWith("/")) return "must name a file, not a directory";
  if (p.split("/").some((seg, i) => i > 0 && (seg === "" || seg === "." || seg === ".."))) {
    return "must be normalized (no //, /./ or /../)";
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return "must not contain control characters";
  if (p.length > 4096) return "is longer than PATH_MAX";
  return undefined;
}

/** Why `mode` is not an acceptable file mode, or undefined. */
export function modeProblem(mode: string): string | undefined {
  if (!OCTAL_MODE.test(mode)) return 'must be octal digits like "0644"';
  const bits = parseInt(mode, 8);
  if (bits > 0o777) return "must not set setuid, setgid or sticky bits on a config file";
  if (bits & 0o002) return "must not be world-writable";
  return undefined;
}

/** Four-digit octal, the form state and the host's `stat` agree on. */
export function normalizeMode(mode: string): string {
  return mode.padStart(4, "0");
}

const fileKey = (p: string) => `files[${JSON.stringify(p)}]`;

function checkFile(c: Collector, path: string, f: unknown) {
  const at = fileKey(path);
  const problem = pathProblem(path);
  if (problem) c.add(at, `path ${problem}`);
  if (isUnknown(f)) return;
  if (!isObject(f)) return c.add(at, "must be an object with content");
  if (!isUnknown(f.content)) {
    if (typeof f.content !== "string") c.add(`${at}.content`, "must be a string");
    else if (Buffer.byteLength(f.content) > CONFIG_SET_LIMITS.maxFileBytes) {
      c.add(
        `${at}.content`,
        `is over ${CONFIG_SET_LIMITS.maxFileBytes} bytes; config files belong in state, data files do not`,
      );
    }
  }
  if (typeof f.mode === "string") {
    const why = modeProblem(f.mode);
    if (why) c.add(`${at}.mode`, why);
  } else if (f.mode !== undefined && !isUnknown(f.mode)) {
    c.add(`${at}.mode`, 'must be a string like "0644" (a number loses the leading zero)');
  }
  for (const k of ["owner", "group"] as const) {
    c.string(`${at}.${k}`, f[k], {
      required: false,
      pattern: UNIX_NAME,
      patternReason: "must be a Unix user/group name or a numeric id",
    });
  }
  if (f.secret !== undefined && typeof f.secret !== "boolean")
    c.add(`${at}.secret`, "must be a boolean");
  const mode = f.mode ?? CONFIG_SET_DEFAULTS.mode;
  if (f.secret === true && typeof mode === "string" && OCTAL_MODE.test(mode)) {
    if (parseInt(mode, 8) & 0o007)
      c.add(
        `${at}.mode`,
        `is ${normalizeMode(mode)}: a secret file must not be world-readable (e.g. "0600" or "0640")`,
      );
  }
  if (typeof f.dirMode === "string") {
    const why = modeProblem(f.dirMode);
    if (why) c.add(`${at}.dirMode`, why);
  } else if (f.dirMode !== undefined && !isUnknown(f.dirMode)) {
    c.add(`${at}.dirMode`, 'must be a string like "0755"');
  }
}

/** An integer setting within [lo, hi], when present and known. */
function checkSeconds(c: Collector, path: string, v: unknown, lo: number, hi: number) {
  if (v === undefined || isUnknown(v)) return;
  if (!(Number.isInteger(v) && Number(v) >= lo && Number(v) <= hi))
    c.add(path, `must be an integer from ${lo} to ${hi} seconds`);
}

/**
 * The longest the provider may take, after activation, to prove a fresh login works: the
 * confirmation connect with its retries (see impl.ts). The dead-man deadline counts from
 * before activation, so it must cover one step plus this, or a slow but healthy change
 * would be rolled back by its own safety net.
 */
export const DEADMAN_CONFIRM_CONNECT = { retries: 1, backoffMs: 500 } as const;
export function deadmanMinimumSeconds(stepTimeoutSeconds: number): number {
  const { retries, backoffMs } = DEADMAN_CONFIRM_CONNECT;
  const connectMs = SSH_DEFAULTS.connectTimeoutMs * (retries + 1) + backoffMs * (2 ** retries - 1);
  return stepTimeoutSeconds + Math.ceil(connectMs / 1000) + DEADMAN_MARGIN_SECONDS;
}
/** Slack for clocks, process start and the confirmation command itself. */
const DEADMAN_MARGIN_SECONDS = 5;

/**
 * Moves `secretContents` (sent by the program as one secret map, so no other field is
 * tainted) into each secret file's `content`, where check()'s result marks it secret
 * leaf by leaf. A map still unknown at preview leaves those contents unknown.
 */
export function mergeSecretContents(raw: Record<string, unknown>): {
  merged: Record<string, unknown>;
  issues: Issue[];
} {
  const { secretContents, ...rest } = raw;
  const issues: Issue[] = [];
  if (secretContents === undefined || !isObject(rest.files)) return { merged: rest, issues };
  const files: Record<string, unknown> = { ...rest.files };
  if (isUnknown(secretContents)) {
    for (const [p, f] of Object.entries(files)) {
      if (isObject(f) && f.secret === true && f.content === undefined)
        files[p] = { ...f, content: UNKNOWN };
    }
  } else if (isObject(secretContents)) {
    for (const [p, content] of Object.entries(secretContents)) {
      const f = files[p];
      if (!isObject(f))
        issues.push({
          path: `secretContents[${JSON.stringify(p)}]`,
          reason: "names no file of the set",
        });
      else files[p] = { ...f, content, secret: true };
    }
  } else {
    issues.push({ path: "secretContents", reason: "must map file paths to contents" });
  }
  return { merged: { ...rest, files }, issues };
}

/** Every problem in a config set's inputs, each named by its property path. */
export function validateInputs(raw: Record<string, unknown>): Issue[] {
  const c = new Collector();
  checkConnection(c, raw.connection);
  c.string("service", raw.service, {
    required: true,
    pattern: SERVICE_NAME,
    patternReason: "must be a lower-case service name like nginx",
  });
  if (!isUnknown(raw.files)) {
    if (!isObject(raw.files) || Object.keys(raw.files).length === 0) {
      c.add("files", "must list at least one file");
    } else {
      for (const [p, f] of Object.entries(raw.files)) checkFile(c, p, f);
    }
  }
  for (const issue of Array.isArray(raw.listIssues) ? raw.listIssues : []) {
    if (isObject(issue)) c.add(String(issue.path), String(issue.reason));
  }
  c.string("activate", raw.activate, { required: true });
  c.string("validate", raw.validate, { required: false });
  c.string("verify", raw.verify, { required: false });
  if (!isUnknown(raw.kind) && !SERVICE_KINDS.includes(raw.kind as ServiceKind)) {
    c.add(
      "kind",
      `${raw.kind === undefined ? "is required" : "is unknown"}: one of ${SERVICE_KINDS.join(", ")}`,
    );
  }
  checkSeconds(
    c,
    "stepTimeoutSeconds",
    raw.stepTimeoutSeconds,
    CONFIG_SET_LIMITS.stepTimeoutMinSeconds,
    CONFIG_SET_LIMITS.stepTimeoutMaxSeconds,
  );
  checkSeconds(c, "lockWaitSeconds", raw.lockWaitSeconds, 0, CONFIG_SET_LIMITS.lockWaitMaxSeconds);
  if (raw.userWritableDirs !== undefined && !isUnknown(raw.userWritableDirs)) {
    if (!Array.isArray(raw.userWritableDirs))
      c.add("userWritableDirs", "must be a list of directories");
    else
      raw.userWritableDirs.forEach((d, i) => {
        const why = typeof d === "string" ? pathProblem(d) : "must be a string";
        if (why) c.add(`userWritableDirs[${i}]`, why);
      });
  }
  if (raw.deadman !== undefined && !isUnknown(raw.deadman)) {
    const t = isObject(raw.deadman) ? raw.deadman.timeoutSeconds : undefined;
    const step = Number.isInteger(raw.stepTimeoutSeconds)
      ? Number(raw.stepTimeoutSeconds)
      : CONFIG_SET_DEFAULTS.stepTimeoutSeconds;
    const lo = deadmanMinimumSeconds(step);
    const hi = CONFIG_SET_LIMITS.deadmanMaxSeconds;
    if (!isUnknown(t) && !(Number.isInteger(t) && Number(t) >= lo && Number(t) <= hi)) {
      c.add(
        "deadman.timeoutSeconds",
        `must be an integer from ${lo} to ${hi} seconds: one step (stepTimeoutSeconds ${step}) plus the confirmation login must fit before it fires`,
      );
    }
  }
  const kind =
    typeof raw.kind === "string" && raw.kind in SERVICE_RULES
      ? (raw.kind as Exclude<ServiceKind, "plain">)
      : undefined;
  const rule = kind ? SERVICE_RULES[kind] : undefined;
  if (rule && !isUnknown(raw.validate)) {
    const v = raw.validate;
    const missing = typeof v !== "string";
    if (missing || (rule.tool && !rule.tool.pattern.test(` ${v}`))) {
      const how = rule.tool ? ` with \`${rule.tool.name}\`` : "";
      c.add("validate", `kind "${kind}" must be validated${how} before activation (${rule.why})`);
    }
  }
  if (rule?.deadman && raw.deadman === undefined) {
    c.add("deadman", `kind "${kind}" needs a dead-man switch (${rule.why})`);
  }
  if (SERVICE_KINDS.includes(raw.kind as ServiceKind) && isObject(raw.files)) {
    for (const p of Object.keys(raw.files)) {
      const owner = owningKind(p);
      if (owner && owner !== raw.kind)
        c.add(
          `${fileKey(p)}`,
          `is ${owner} config: only a set of kind "${owner}" may write it (${SERVICE_RULES[owner].why})`,
        );
    }
  }
  return c.issues;
}

/**
 * Inputs with every default applied; call only when validateInputs found nothing.
 * Values still unknown at preview pass through untouched.
 */
export function withDefaults(raw: Record<string, unknown>): WireInputs {
  const r = raw as unknown as WireInputs;
  let files: WireInputs["files"] = r.files;
  if (!isUnknown(r.files)) {
    files = {};
    for (const p of Object.keys(r.files).sort()) {
      const f = r.files[p] as Partial<WireFile> & { content: string };
      files[p] = isUnknown(f)
        ? (f as unknown as WireFile)
        : {
            content: f.content,
            mode: isUnknown(f.mode) ? f.mode! : normalizeMode(f.mode ?? CONFIG_SET_DEFAULTS.mode),
            owner: f.owner ?? CONFIG_SET_DEFAULTS.owner,
            group: f.group ?? CONFIG_SET_DEFAULTS.group,
            secret: f.secret ?? false,
            dirMode: isUnknown(f.dirMode)
              ? f.dirMode!
              : normalizeMode(f.dirMode ?? CONFIG_SET_DEFAULTS.dirMode),
          };
    }
  }
  return {
    connection: withConnectionDefaults(r.connection),
    kind: r.kind,
    service: r.service,
    files,
    ...(r.validate !== undefined && { validate: r.validate }),
    activate: r.activate,
    ...(r.verify !== undefined && { verify: r.verify }),
    ...(r.deadman !== undefined && {
      deadman: isUnknown(r.deadman) ? r.deadman : { timeoutSeconds: r.deadman.timeoutSeconds },
    }),
    stepTimeoutSeconds: r.stepTimeoutSeconds ?? CONFIG_SET_DEFAULTS.stepTimeoutSeconds,
    lockWaitSeconds: r.lockWaitSeconds ?? CONFIG_SET_DEFAULTS.lockWaitSeconds,
    userWritableDirs: r.userWritableDirs ?? [],
  };
}
