import { createHash } from "node:crypto";

/** Every key and channel this library writes starts with this prefix. */
export const KEY_PREFIX = "okome";

/** Thrown when a key part is empty or holds a character that would change the key's shape. */
export class KeyPartError extends Error {
  constructor(
    /** Name of the offending part, e.g. `model` or `agent`. */
    readonly part: string,
    /** Why it was rejected. */
    readonly reason: string,
  ) {
    super(`invalid key part "${part}": ${reason}`);
    this.name = "KeyPartError";
  }
}

// ':' separates parts; whitespace and control characters break redis-cli, logs and header values.
const FORBIDDEN = /[:\s\p{Cc}]/u;

function part(name: string, value: string): string {
  if (typeof value !== "string") throw new KeyPartError(name, "must be a string");
  if (value.length === 0) throw new KeyPartError(name, "must not be empty");
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    const shown =
      bad[0] === ":" ? "':'" : `U+${bad[0].codePointAt(0)!.toString(16).padStart(4, "0")}`;
    throw new KeyPartError(name, `must not contain ${shown} (at index ${bad.index})`);
  }
  return value;
}

function build(...parts: string[]): string {
  return [KEY_PREFIX, ...parts].join(":");
}

/** Lower-case hex sha256 of a string (UTF-8) or bytes. */
export function sha256Hex(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Inputs of a planner cache key. */
export interface PlannerKeyParts {
  /** Model name, e.g. `llama3-8b`. */
  readonly model: string;
  /** Full prompt text; only its sha256 enters the key. */
  readonly prompt: string;
  /** Toolset identifier, e.g. `default-v3`. */
  readonly toolset: string;
  /** Repository content or a stable fingerprint of it (tree hash); only its sha256 enters the key. */
  readonly repo: string | Uint8Array;
}

/**
 * Budget window label for a key: `60s` for whole seconds, else `<n>ms`.
 * @param windowMs window length in milliseconds, a positive integer.
 */
export function windowLabel(windowMs: number): string {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new KeyPartError("window", `must be a positive integer of milliseconds, got ${windowMs}`);
  }
  return windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs}ms`;
}

/** The key schema. Every builder validates its parts and throws {@link KeyPartError} naming the bad one. */
export const keys = {
  /** `okome:model_meta:{model}` */
  modelMeta: (model: string): string => build("model_meta", part("model", model)),

  /** `okome:planner:{model}:{prompt_hash}:{toolset}:{repo_hash}` (hashes are sha256 hex). */
  planner: (p: PlannerKeyParts): string =>
    build(
      "planner",
      part("model", p.model),
      sha256Hex(p.prompt),
      part("toolset", p.toolset),
      sha256Hex(p.repo),
    ),

  /** `okome:rag:{repo}:{chunk_hash}`; `chunk` is the chunk content, hashed with sha256. */
  rag: (repo: string, chunk: string | Uint8Array): string =>
    build("rag", part("repo", repo), sha256Hex(chunk)),

  /** `okome:tools:{tool_version}` */
  tools: (toolVersion: string): string => build("tools", part("tool_version", toolVersion)),

  /** `okome:health:{node}` */
  health: (node: string): string => build("health", part("node", node)),

  /** `okome:budget:rl:{agent}:{window}`: sliding-window log of admitted requests. */
  budgetRequests: (agent: string, windowMs: number): string =>
    build("budget", "rl", part("agent", agent), windowLabel(windowMs)),

  /** `okome:budget:writes:{agent}:{window}`: sliding-window log of admitted cache writes. */
  budgetWrites: (agent: string, windowMs: number): string =>
    build("budget", "writes", part("agent", agent), windowLabel(windowMs)),

  /** `okome:agentkeys:{agent}`: cache keys the agent wrote, scored by expiry (for the key cap). */
  agentKeys: (agent: string): string => build("agentkeys", part("agent", agent)),
} as const;

/**
 * Stampede lock of a cache key. A separate prefix keeps locks out of SCANs over cache types,
 * and nests the whole cache key so no two cache keys share a lock.
 */
export function lockKey(cacheKey: string): string {
  return build("lock", cacheKey);
}

/** Pub/sub channel on which the lock owner announces that a cache key was filled. */
export function fillChannel(cacheKey: string): string {
  return build("fill", cacheKey);
}
