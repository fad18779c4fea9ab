import { createHash, createHmac } from "node:crypto";

/** One SSH public host key, as OpenSSH writes it: `<type> <base64 blob>`. */
export interface HostKey {
  readonly type: string;
  /** The key blob (SSH wire format), base64 as in known_hosts. */
  readonly base64: string;
}

const KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|ssh-dss) ([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/;

/** Parses `ssh-ed25519 AAAA... [comment]`; undefined when the line is not a public key. */
export function parseHostKey(line: string): HostKey | undefined {
  const m = KEY_LINE.exec(line.trim());
  if (!m) return undefined;
  // The blob names its own type: a pasted key with a wrong prefix is not a key.
  return blobType(Buffer.from(m[2], "base64")) === m[1] ? { type: m[1], base64: m[2] } : undefined;
}

/** The key type written at the start of an SSH key blob (a uint32 length, then the name). */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len
    ? blob.subarray(4, 4 + len).toString("latin1")
    : undefined;
}

/** The key ssh2 hands to a host verifier (the raw blob), as a HostKey. */
export function hostKeyFromBlob(blob: Buffer): HostKey {
  return { type: blobType(blob) ?? "unknown", base64: blob.toString("base64") };
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: HostKey): string {
  const digest = createHash("sha256").update(Buffer.from(key.base64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

export function sameKey(a: HostKey, b: HostKey): boolean {
  return (
    a.type === b.type && Buffer.from(a.base64, "base64").equals(Buffer.from(b.base64, "base64"))
  );
}

export function formatHostKey(key: HostKey): string {
  return `${key.type} ${key.base64}`;
}

/** The host-key algorithms to offer so the server presents a key of a pinned type. */
export function hostKeyAlgorithms(keys: readonly HostKey[]): string[] {
  const algos = keys.flatMap((k) =>
    k.type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [k.type],
  );
  return [...new Set(algos)];
}

/** How known_hosts names a host: bare for port 22, `[host]:port` otherwise. */
function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** True when one known_hosts host pattern (plain, wildcard or `|1|salt|hash`) names `name`. */
function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  return globToRegExp(pattern).test(name);
}

/**
 * The keys a known_hosts file pins for `address:port`, following OpenSSH's rules for
 * hashed names, `[host]:port`, wildcards and `!` negations. `@revoked` keys are returned
 * separately so a caller can refuse them; `@cert-authority` lines are not host keys.
 */
export function knownHostKeys(
  text: string,
  address: string,
  port: number,
): { keys: HostKey[]; revoked: HostKey[] } {
  const name = knownHostsName(address, port);
  const keys: HostKey[] = [];
  const revoked: HostKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0].startsWith("@") ? fields.shift() : undefined;
    if (marker === "@cert-authority" || fields.length < 3) continue;
    const patterns = fields[0].split(",");
    const negated = patterns.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name));
    const matched = patterns.some((p) => !p.startsWith("!") && patternMatches(p, name));
    if (!matched || negated) continue;
    const key = parseHostKey(`${fields[1]} ${fields[2]}`);
    if (!key) continue;
    (marker === "@revoked" ? revoked : keys).push(key);
  }
  return { keys, revoked };
}

/** The keys known_hosts pins for `address:port` that are not also revoked there. */
export function pinnedHostKeys(text: string, address: string, port: number): HostKey[] {
  const found = knownHostKeys(text, address, port);
  return found.keys.filter((k) => !found.revoked.some((r) => sameKey(r, k)));
}
