import { createHash } from "node:crypto";

/** An application user of the model cache (a Redis ACL user with a generated password). */
export interface AclUserArgs {
  /**
   * ACL user name: a lower-case letter, then lower-case letters, digits, `-` or `_`, at most 32.
   * Not `default` and not one of {@link RESERVED_USERS}.
   */
  readonly name: string;
  /** Key patterns the user may read and write (ACL `~` rules, glob syntax), e.g. `okome:*`. At least one. */
  readonly keys: readonly string[];
  /** Pub/sub channel patterns (ACL `&` rules), e.g. `okome:*`; empty for none. */
  readonly channels: readonly string[];
  /**
   * Command rules granted after `-@all`: `+<command>`, `+<command>|<subcommand>`, `+@<category>`,
   * or the same with `-`. `-@admin -@dangerous` always follow them, so an application user can
   * never be granted FLUSHALL, CONFIG, KEYS, DEBUG, SHUTDOWN, MONITOR or INFO.
   */
  readonly commands: readonly string[];
}

/**
 * The OKOME orchestrator: exactly the commands the okome/ library sends (cache get/set,
 * stampede locks and fill notices over pub/sub, the budget's sorted sets), its Lua scripts
 * (EVALSHA, falling back to EVAL), and connection housekeeping (AUTH, HELLO, PING, CLIENT SETNAME).
 * Every key and channel it uses starts with `okome:`.
 */
export const ORCHESTRATOR_USER: AclUserArgs = {
  name: "okome",
  keys: ["okome:*"],
  channels: ["okome:*"],
  commands: [
    "+@connection",
    "+get",
    "+set",
    "+del",
    "+pexpire",
    "+pttl",
    "+publish",
    "+subscribe",
    "+unsubscribe",
    "+zadd",
    "+zcard",
    "+zrange",
    "+zremrangebyscore",
    "+zscore",
    "+time",
    "+eval",
    "+evalsha",
    "+eval_ro",
    "+evalsha_ro",
  ],
};

/** Users the component manages itself; application users may not take these names. */
export const RESERVED_USERS = {
  /** The okome-redis-* host scripts (CONFIG SET, ACL LOAD), over the unix socket only. */
  admin: "okome-admin",
  /** Read-only server state for the Prometheus exporter and the validation suite; no keys. */
  monitor: "okome-monitor",
  /** The edges' health probes: SET and PTTL on `okome:health:*` and nothing else (HEALTH_RULES). */
  health: "okome-health",
} as const;

/**
 * What the admin user may run, and nothing else (no keys, no channels): exactly what the
 * okome-redis-* scripts send over the unix socket. PING checks the login, CONFIG GET and ACL LIST
 * compare the running server with the candidate, CONFIG SET applies settings live, ACL LOAD
 * reloads users. No CONFIG REWRITE or ACL SAVE (the managed files are the truth), no FLUSHALL,
 * SHUTDOWN or DEBUG. The validation suite checks the live server grants exactly these.
 */
export const ADMIN_COMMANDS = ["ping", "config|get", "config|set", "acl|list", "acl|load"] as const;

/**
 * What the monitor user may run: the commands redis_exporter 1.45 sends, minus key access, and
 * ACL DRYRUN, with which the validation suite checks the admin's rights without its password
 * (it answers allowed or not, and reveals no password hash, unlike ACL GETUSER).
 */
export const MONITOR_COMMANDS =
  "-@all +@connection -@admin -@dangerous +info +config|get +slowlog|get +slowlog|len +latency|latest +latency|histogram +acl|dryrun";

/**
 * What the health user may do: SET the health keys (`okome:health:<node>`, with EX) and read
 * their TTL (okome-validate on the node checks them), nothing else. Its password sits on both
 * edges, so a stolen one can neither read the cache nor touch other keys.
 */
export const HEALTH_RULES = "resetkeys ~okome:health:* resetchannels -@all +set +pttl";

/** The ACL rules of the admin user: nothing but {@link ADMIN_COMMANDS}. */
export const adminRules = () =>
  ["-@all", ...ADMIN_COMMANDS.map((command) => `+${command}`)].join(" ");

/** The ACL rules of an application user; `-@admin -@dangerous` last, whatever `commands` grants. */
export function applicationUserRules(user: AclUserArgs): string {
  return [
    "resetkeys",
    ...user.keys.map((pattern) => `~${pattern}`),
    "resetchannels",
    ...user.channels.map((pattern) => `&${pattern}`),
    "-@all",
    ...user.commands,
    "-@admin",
    "-@dangerous",
  ].join(" ");
}

/** sha256 hex of a password: what users.acl holds (`#<hex>`), never the password. */
export function passwordSha256(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("hex");
}

/** Password hashes for users.acl, by user name (application users, admin and monitor). */
export type PasswordHashes = Readonly<Record<string, string>>;

/** Every user the node has a password for: admin, monitor, health, then the application users. */
export function passwordUsers(users: readonly AclUserArgs[]): string[] {
  return [
    RESERVED_USERS.admin,
    RESERVED_USERS.monitor,
    RESERVED_USERS.health,
    ...users.map((user) => user.name),
  ];
}
