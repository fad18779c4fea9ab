/** Checks shared by every host provider's check(): the connection, and collecting issues. */
import { Issue } from "../../common/issues";
import { parseHostKey } from "../ssh/hostKeys";
import { CONNECTION_DEFAULTS, UNKNOWN, WireConnection } from "./wire";

export const UNIX_NAME = /^([a-z_][a-z0-9_-]{0,31}|[0-9]+)$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const isUnknown = (v: unknown) => v === UNKNOWN;

/** Every issue of one resource's inputs, each with its property path. */
export class Collector {
  readonly issues: Issue[] = [];
  add(path: string, reason: string) {
    this.issues.push({ path, reason });
  }
  /** Checks a required or optional string; unknown (preview) values pass. */
  string(
    path: string,
    v: unknown,
    opts: { required: boolean; pattern?: RegExp; patternReason?: string },
  ) {
    if (isUnknown(v)) return;
    if (v === undefined || v === null) {
      if (opts.required) this.add(path, "is required");
      return;
    }
    if (typeof v !== "string") return this.add(path, "must be a string");
    if (v.trim() === "") return this.add(path, "must not be empty");
    if (opts.pattern && !opts.pattern.test(v)) this.add(path, opts.patternReason ?? "is malformed");
  }
}

export function checkConnection(c: Collector, conn: unknown) {
  if (isUnknown(conn)) return;
  if (!isObject(conn)) return c.add("connection", "is required");
  c.string("connection.name", conn.name, {
    required: true,
    pattern: HOST_NAME,
    patternReason: "must be a host name like okome-edge",
  });
  c.string("connection.address", conn.address, {
    required: true,
    pattern: /^[A-Za-z0-9.:-]+$/,
    patternReason: "must be an IP address or DNS name",
  });
  c.string("connection.user", conn.user, {
    required: true,
    pattern: UNIX_NAME,
    patternReason: "must be a Unix user name",
  });
  const port = conn.port;
  if (
    port !== undefined &&
    !isUnknown(port) &&
    !(Number.isInteger(port) && Number(port) >= 1 && Number(port) <= 65535)
  ) {
    c.add("connection.port", "must be an integer from 1 to 65535");
  }
  c.string("connection.privateKeyPath", conn.privateKeyPath, {
    required: false,
    pattern: /^(\/|~\/)/,
    patternReason: "must be absolute or start with ~/",
  });
  c.string("connection.privateKey", conn.privateKey, { required: false });
  if ((conn.privateKeyPath === undefined) === (conn.privateKey === undefined)) {
    c.add("connection.privateKeyPath", "set exactly one of privateKeyPath and privateKey");
  }
  if (typeof conn.hostKey === "string" && !isUnknown(conn.hostKey) && !parseHostKey(conn.hostKey)) {
    c.add("connection.hostKey", 'must be an OpenSSH public key line like "ssh-ed25519 AAAA..."');
  } else {
    c.string("connection.hostKey", conn.hostKey, { required: false });
  }
  c.string("connection.knownHostsFile", conn.knownHostsFile, { required: false });
}

/** The connection with its defaults; one still unknown at preview passes through. */
export function withConnectionDefaults(conn: WireConnection): WireConnection {
  return isUnknown(conn) ? conn : { ...conn, port: conn.port ?? CONNECTION_DEFAULTS.port };
}

/** What check() returns: the failures by property, or the checked inputs. */
export function checkResult<T>(
  news: Record<string, unknown>,
  issues: readonly Issue[],
  checked: () => T,
): { inputs: Record<string, unknown> | T; failures?: { property: string; reason: string }[] } {
  if (issues.length > 0) {
    return { inputs: news, failures: issues.map((i) => ({ property: i.path, reason: i.reason })) };
  }
  return { inputs: checked() };
}
