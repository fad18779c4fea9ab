/**
 * The ConfigSet resource as the Pulumi engine stores it (inputs and outputs). Plain data,
 * no Pulumi imports: this module is loaded by the dynamic provider process too.
 */
import { CONNECTION_DEFAULTS, HostState, WireConnection } from "../host/wire";

/** Every default of a config set, applied in one place (check()). */
export const CONFIG_SET_DEFAULTS = {
  port: CONNECTION_DEFAULTS.port,
  mode: "0644",
  owner: "root",
  group: "root",
  /** Mode of a file's directory when the set has to create it. */
  dirMode: "0755",
  /** Upper bound for each of validate, activate and verify on the host. */
  stepTimeoutSeconds: 60,
  /**
   * How long a transaction waits for the host's transaction lock (another set, stack or
   * dead-man restore holds it) before it fails naming the holder. The sets of one run on one
   * host queue on it, so it covers several transactions.
   */
  lockWaitSeconds: 600,
} as const;

/** Limits that keep state small and timers sane. */
export const CONFIG_SET_LIMITS = {
  /** Rendered config files are kilobytes; anything near this is not a config file. */
  maxFileBytes: 1024 * 1024,
  stepTimeoutMinSeconds: 1,
  stepTimeoutMaxSeconds: 3600,
  lockWaitMaxSeconds: 3600,
  deadmanMaxSeconds: 3600,
} as const;

export interface WireFile {
  content: string;
  /** Four octal digits, e.g. "0640". */
  mode: string;
  owner: string;
  group: string;
  /** Content is a secret: masked in state and diffs, never in derived outputs. */
  secret: boolean;
  /** Mode of the file's directory if the set creates it (four octal digits); absent in older state. */
  dirMode?: string;
}

/**
 * What a set configures, from a closed list: it decides which validator and safety net the
 * set must have (SERVICE_RULES), whatever the set is called. `plain` is anything else.
 */
export type ServiceKind = "plain" | "sshd" | "nftables" | "nginx" | "keepalived" | "redis";

export interface WireInputs {
  connection: WireConnection;
  kind: ServiceKind;
  service: string;
  /** Keyed by absolute path, so diffs and secrets follow the file, not its list position. */
  files: Record<string, WireFile>;
  validate?: string;
  activate: string;
  verify?: string;
  deadman?: { timeoutSeconds: number };
  stepTimeoutSeconds: number;
  lockWaitSeconds: number;
  /** Parents that a non-root user may write, which the set was told to expect. */
  userWritableDirs: string[];
  /** Problems found while turning the files list into the map (duplicate paths); check() reports them. */
  listIssues?: { path: string; reason: string }[];
  /** Program -> check() only: the contents of secret files, as one secret map (check() merges them into `files`). */
  secretContents?: Record<string, string>;
}

export interface FileState extends WireFile {
  sha256: string;
}

/** What a path held before the set first wrote it; delete() and removals put it back. */
export type Original =
  /** createdDir: the top-most parent directory the set created for the file, removed again if empty. */
  | { kind: "absent"; createdDir?: string }
  | { kind: "file"; content: string; mode: string; owner: string; group: string };

export interface WireOutputs
  extends Omit<WireInputs, "files" | "listIssues" | "secretContents">, HostState {
  files: Record<string, FileState>;
  originals: Record<string, Original>;
}
