/**
 * What every host provider (ConfigSet, PackageBaseline, HostProbe) stores about the host it
 * reaches, and the engine's wire markers. Plain data, no Pulumi imports: this module is
 * loaded by the dynamic provider process too.
 */

export const CONNECTION_DEFAULTS = { port: 22 } as const;

export interface WireConnection {
  name: string;
  address: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  /** Plaintext inside the provider; a secret in state. */
  privateKey?: string;
  hostKey?: string;
  knownHostsFile?: string;
}

/** The value the engine sends for a property it does not know yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Pulumi's wire marker for a secret value; the engine keeps it encrypted in state. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function wrapSecret<T>(value: T): { [SECRET_SIG]: string; value: T } {
  return { [SECRET_SIG]: SECRET_VALUE_SIG, value };
}

export const hasUnknowns = (v: unknown) => JSON.stringify(v).includes(UNKNOWN);

/** `props` with the inline deploy key (if any) marked secret, so state keeps it encrypted. */
export function maskConnection<T extends { connection: WireConnection }>(props: T): T {
  const conn = props.connection as WireConnection | string | undefined;
  if (typeof conn !== "object" || conn === null || conn.privateKey === undefined) return props;
  return { ...props, connection: { ...conn, privateKey: wrapSecret(conn.privateKey) } };
}

/** The host every resource of these providers is about: the state that pins its key. */
export interface HostState {
  connection: WireConnection;
  /** The host's name (connection.name), for messages and stack outputs. */
  host: string;
  /** The host key trusted: the pinned one, or the one seen first. */
  hostKey: string;
}

/**
 * A new host name is a different machine: the resource is replaced, so the key pinned in
 * state for the old one is never held against the new one.
 */
export function connectionReplaces(olds: HostState, news: { connection: WireConnection }) {
  return olds.connection.name !== news.connection.name ? ["connection"] : [];
}
