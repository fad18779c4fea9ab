import { createHash } from "node:crypto";

/** What a config set's digest covers: what it put on the host and how it runs it there. */
export interface DigestedState {
  readonly kind: string;
  readonly service: string;
  /** Path -> the file's state (content, sha256, mode, owner, group). */
  readonly files: Readonly<Record<string, unknown>>;
  readonly validate?: string;
  readonly activate: string;
  readonly verify?: string;
}

/** JSON with every object's keys sorted: one text per value, whatever order it was built in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null)
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** sha256 (hex) of a config set's state: it changes exactly when the set applies a change. */
export function configSetDigest(state: DigestedState): string {
  const { kind, service, files, validate, activate, verify } = state;
  const covered = { kind, service, files, validate, activate, verify };
  return createHash("sha256").update(canonicalJson(covered)).digest("hex");
}
