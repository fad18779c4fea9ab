import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../providers";
import { HostSpec } from "./config";
import { Issue } from "../common/issues";
import {
  HOST_SCRIPTS,
  OKOME_SECRETS_DIR,
  REDIS,
  REDIS_EXPORTER,
  REDIS_MAXMEMORY_POLICIES,
  REDIS_RESTART_ONLY,
} from "./platform";
import { readScript, renderTemplate } from "./templates";

/** A Redis 7.0 eviction policy (`maxmemory-policy`). */
export type MaxmemoryPolicy = (typeof REDIS_MAXMEMORY_POLICIES)[number];

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
const MONITOR_COMMANDS =
  "-@all +@connection -@admin -@dangerous +info +config|get +slowlog|get +slowlog|len +latency|latest +latency|histogram +acl|dryrun";

/** Arguments of {@link ModelCacheNode}. */
export interface ModelCacheNodeArgs {
  /** The Pi that runs Redis. Its address is always bound: the orchestrator connects there. */
  readonly host: HostSpec;
  /** How the providers reach the host over SSH. */
  readonly connection: pulumi.Input<HostConnection>;
  /**
   * Physical RAM of the host, in Redis size syntax (`8gb`, `1gb`, `512mb`). Bounds maxmemory:
   * at most {@link MAXMEMORY_HOST_SHARE} of it. No default: it is a fact about the hardware.
   */
  readonly hostMemory: string;
  /**
   * IPv4 addresses to listen on besides `host.address`, e.g. `127.0.0.1` for the exporter.
   * Specific addresses only (no `0.0.0.0`, not `vip`). Applied live. Default {@link MODEL_CACHE_DEFAULTS}.bind.
   */
  readonly bind?: readonly string[];
  /**
   * The tier's floating address, which keepalived may move to this node; `bind` may not list it:
   * it belongs to the edge, and Redis bound to it would answer whoever holds the VIP. No default:
   * without it, nothing is checked.
   */
  readonly vip?: string;
  /** TCP port, 1-65535. Applied live (Redis 7.0 rebinds without a restart). */
  readonly port?: number;
  /**
   * Memory budget of the cache in Redis size syntax: a positive integer with an optional unit,
   * `b`, `k`/`kb`, `m`/`mb`, `g`/`gb` (k = 1000, kb = 1024), case-insensitive. Applied live;
   * lowering it evicts at once (per the policy), never flushes.
   */
  readonly maxmemory?: string;
  /** What Redis evicts when maxmemory is reached. Applied live. */
  readonly maxmemoryPolicy?: MaxmemoryPolicy;
  /**
   * `true`: RDB snapshots at the stock save points (each forks Redis and writes the dataset to
   * the SD card). `false`: nothing is ever written to disk, and a restart starts empty. Never AOF.
   */
  readonly persistence?: boolean;
  /**
   * Application users, each with a generated password (a Pulumi secret). The first is the one
   * the stack exports as `modelCacheUser`. At least one.
   */
  readonly users?: readonly AclUserArgs[];
  /** Run prometheus-redis-exporter (Debian's), as the monitor user; `false` stops and disables it. */
  readonly exporter?: boolean;
  /** TCP port the exporter serves /metrics on, on `host.address`; 1-65535, not `port`. */
  readonly exporterPort?: number;
  /**
   * Escape hatch: more redis.conf directives, rendered at the end as `name value`. Names are
   * Redis 7.0 config names not set elsewhere by this component; values are space-separated
   * tokens without quotes. A restart-only name (see components/platform.ts) restarts Redis.
   */
  readonly extraOptions?: Readonly<Record<string, string>>;
}

/** The arguments that shape the node (all but how to reach it): what validation and rendering read. */
export type ModelCacheSettings = Omit<ModelCacheNodeArgs, "connection">;

/** Every default of {@link ModelCacheNodeArgs}, applied in one place ({@link resolveModelCacheArgs}). */
export const MODEL_CACHE_DEFAULTS = {
  bind: ["127.0.0.1"],
  port: 6379,
  /** Half a prod Pi's 8 GB: the rest is for Redis's overhead, the standby edge and the OS. */
  maxmemory: "4gb",
  maxmemoryPolicy: "allkeys-lru",
  persistence: false,
  users: [ORCHESTRATOR_USER],
  exporter: true,
  /** redis_exporter's own default port. */
  exporterPort: 9121,
  extraOptions: {},
} as const;

/**
 * The largest share of the host's RAM maxmemory may take: Redis's resident size runs above
 * maxmemory (fragmentation, client and pub/sub buffers), and the node also runs the standby edge.
 */
export const MAXMEMORY_HOST_SHARE = 0.75;

/** Arguments with every default applied (`vip` has none). */
export type ResolvedModelCacheArgs = Required<Omit<ModelCacheSettings, "vip">> &
  Pick<ModelCacheSettings, "vip">;

/** Applies {@link MODEL_CACHE_DEFAULTS}; the only place that does. */
export function resolveModelCacheArgs(args: ModelCacheSettings): ResolvedModelCacheArgs {
  const d = MODEL_CACHE_DEFAULTS;
  return {
    host: args.host,
    hostMemory: args.hostMemory,
    bind: args.bind ?? d.bind,
    vip: args.vip,
    port: args.port ?? d.port,
    maxmemory: args.maxmemory ?? d.maxmemory,
    maxmemoryPolicy: args.maxmemoryPolicy ?? d.maxmemoryPolicy,
    persistence: args.persistence ?? d.persistence,
    users: args.users ?? d.users,
    exporter: args.exporter ?? d.exporter,
    exporterPort: args.exporterPort ?? d.exporterPort,
    extraOptions: args.extraOptions ?? d.extraOptions,
  };
}

const SIZE = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i;
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1e3,
  kb: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
};

/** Bytes of a Redis size (`4gb`, `256mb`, `1000`), or undefined when Redis would reject it. */
export function parseRedisSize(size: string): number | undefined {
  const m = SIZE.exec(size);
  return m ? Number(m[1]) * UNIT_BYTES[(m[2] ?? "b").toLowerCase()] : undefined;
}

const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const COMMAND_RULE = /^[+-](@[a-z]+|[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)?)$/;
const PATTERN = /^[^\s"'\\]+$/;
const OPTION_NAME = /^[a-z][a-z0-9_-]*$/;
const OPTION_VALUE = /^[^\s"'\\]+( [^\s"'\\]+)*$/;

/** Directives of redis.conf.mustache: extraOptions may not set them again. */
const TEMPLATE_DIRECTIVES: Readonly<Record<string, string>> = {
  bind: "the typed field `bind`",
  port: "the typed field `port`",
  maxmemory: "the typed field `maxmemory`",
  "maxmemory-policy": "the typed field `maxmemoryPolicy`",
  save: "the typed field `persistence`",
  appendonly: "the typed field `persistence` (never AOF)",
  aclfile: "the component (users.acl)",
  ...Object.fromEntries(
    [
      "protected-mode",
      "tcp-backlog",
      "unixsocket",
      "unixsocketperm",
      "timeout",
      "tcp-keepalive",
      "daemonize",
      "pidfile",
      "loglevel",
      "logfile",
      "databases",
      "always-show-logo",
      "stop-writes-on-bgsave-error",
      "rdbcompression",
      "rdbchecksum",
      "dbfilename",
      "dir",
      "acllog-max-len",
    ].map((d) => [d, "the template (assets/templates/redis/redis.conf.mustache)"]),
  ),
};

/**
 * Redis 7.0 settings whose value is a secret. redis.conf is not a secret file: its content sits
 * in plaintext in the Pulumi state, in every diff and in the backups, and the redis group reads it.
 */
const SECRET_OPTIONS = [
  "requirepass",
  "masterauth",
  "tls-key-file-pass",
  "tls-client-key-file-pass",
] as const;

/** Directives that would undo the ACL setup or turn the node into something else. */
const FORBIDDEN_OPTIONS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    SECRET_OPTIONS.map((name) => [
      name,
      "its value is a secret, and redis.conf is not one: it would sit in plaintext in the Pulumi state, diffs and the host's backups",
    ]),
  ),
  include: "would pull in settings okome-cache does not manage",
  user: "users belong in `users` (the aclfile and inline users exclude each other)",
  masteruser: "the model cache is a single node, not a replica",
  replicaof: "the model cache is a single node, not a replica",
  slaveof: "the model cache is a single node, not a replica",
  "rename-command": "hides commands from the ACL rules instead of denying them",
  loadmodule: "modules are outside what okome-cache validates",
  "enable-debug-command": "DEBUG stays off",
  "enable-module-command": "MODULE stays off",
  "enable-protected-configs": "dir and dbfilename stay unchangeable at runtime",
};

function userIssues(users: readonly AclUserArgs[]): Issue[] {
  const issues: Issue[] = [];
  if (users.length === 0)
    issues.push({ path: "users", reason: "must name at least one user (the orchestrator's)" });
  const reserved = new Set<string>(["default", ...Object.values(RESERVED_USERS)]);
  const seen = new Set<string>();
  users.forEach((u, i) => {
    const at = `users[${i}]`;
    if (!USER_NAME.test(u.name)) {
      issues.push({
        path: `${at}.name`,
        reason: "must be a lower-case letter, then letters, digits, - or _ (at most 32)",
      });
    } else if (reserved.has(u.name)) {
      issues.push({
        path: `${at}.name`,
        reason: `"${u.name}" is reserved (${[...reserved].join(", ")})`,
      });
    } else if (seen.has(u.name)) {
      issues.push({ path: `${at}.name`, reason: `"${u.name}" is listed twice` });
    }
    seen.add(u.name);
    if (u.keys.length === 0)
      issues.push({ path: `${at}.keys`, reason: "must list at least one key pattern" });
    u.keys.forEach((k, j) => {
      if (!PATTERN.test(k))
        issues.push({
          path: `${at}.keys[${j}]`,
          reason: "must be a glob without spaces, quotes or backslashes",
        });
    });
    u.channels.forEach((c, j) => {
      if (!PATTERN.test(c)) {
        issues.push({
          path: `${at}.channels[${j}]`,
          reason: "must be a glob without spaces, quotes or backslashes",
        });
      }
    });
    u.commands.forEach((c, j) => {
      if (!COMMAND_RULE.test(c)) {
        issues.push({
          path: `${at}.commands[${j}]`,
          reason: "must be +command, +command|subcommand or +@category (or -)",
        });
      }
    });
  });
  return issues;
}

function extraOptionIssues(options: Readonly<Record<string, string>>): Issue[] {
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(options)) {
    const at = `extraOptions.${name}`;
    if (!OPTION_NAME.test(name))
      issues.push({ path: at, reason: "must be a Redis config name like io-threads" });
    else if (name in TEMPLATE_DIRECTIVES)
      issues.push({ path: at, reason: `is set by ${TEMPLATE_DIRECTIVES[name]}` });
    else if (name in FORBIDDEN_OPTIONS)
      issues.push({ path: at, reason: `is not allowed: ${FORBIDDEN_OPTIONS[name]}` });
    if (typeof value !== "string" || !OPTION_VALUE.test(value)) {
      issues.push({
        path: at,
        reason: "value must be space-separated tokens without quotes, backslashes or newlines",
      });
    }
  }
  return issues;
}

function portIssue(path: string, port: number): Issue[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [{ path, reason: `must be an integer from 1 to 65535, got ${port}` }];
}

/**
 * Every problem in the arguments at once, each named by its property path (`maxmemory`,
 * `bind[1]`, `users[0].commands[3]`, `extraOptions.io-threads`). Pure; the component throws
 * them together before it registers anything.
 */
export function validateModelCacheArgs(args: ModelCacheSettings): Issue[] {
  const a = resolveModelCacheArgs(args);
  const issues: Issue[] = [];
  if (!isIPv4(a.host.address))
    issues.push({
      path: "host.address",
      reason: `must be an IPv4 address, got "${a.host.address}"`,
    });
  a.bind.forEach((addr, i) => {
    if (!isIPv4(addr))
      issues.push({ path: `bind[${i}]`, reason: `must be an IPv4 address, got "${addr}"` });
    else if (addr === "0.0.0.0") {
      issues.push({
        path: `bind[${i}]`,
        reason:
          "must be a specific address: 0.0.0.0 would expose Redis on every interface, the VIP included",
      });
    } else if (addr === a.vip) {
      issues.push({
        path: `bind[${i}]`,
        reason: `must not be the VIP (${addr}): keepalived moves it between the nodes, and Redis must answer on the node's own address only`,
      });
    }
  });
  issues.push(...portIssue("port", a.port));
  const hostBytes = parseRedisSize(a.hostMemory);
  if (hostBytes === undefined || hostBytes === 0) {
    issues.push({
      path: "hostMemory",
      reason: `must be a positive Redis size like 8gb, got "${a.hostMemory}"`,
    });
  }
  const maxBytes = parseRedisSize(a.maxmemory);
  if (maxBytes === undefined) {
    issues.push({
      path: "maxmemory",
      reason: `must be a Redis size like 4gb or 256mb (units b, k, kb, m, mb, g, gb), got "${a.maxmemory}"`,
    });
  } else if (maxBytes === 0) {
    issues.push({
      path: "maxmemory",
      reason: "must be above 0: 0 means no limit, and an unbounded cache takes the whole Pi",
    });
  } else if (hostBytes && maxBytes > hostBytes * MAXMEMORY_HOST_SHARE) {
    issues.push({
      path: "maxmemory",
      reason: `${a.maxmemory} is more than ${MAXMEMORY_HOST_SHARE * 100}% of the host's ${a.hostMemory} of RAM: Redis's resident size runs above maxmemory, and the node also runs the standby edge`,
    });
  }
  if (!(REDIS_MAXMEMORY_POLICIES as readonly string[]).includes(a.maxmemoryPolicy)) {
    issues.push({
      path: "maxmemoryPolicy",
      reason: `must be one of ${REDIS_MAXMEMORY_POLICIES.join(", ")}, got "${a.maxmemoryPolicy}"`,
    });
  }
  issues.push(...userIssues(a.users));
  issues.push(...portIssue("exporterPort", a.exporterPort));
  if (a.exporter && a.exporterPort === a.port) {
    issues.push({ path: "exporterPort", reason: `must differ from port (${a.port})` });
  }
  issues.push(...extraOptionIssues(a.extraOptions));
  return issues;
}

/** sha256 hex of a password: what users.acl holds (`#<hex>`), never the password. */
export function passwordSha256(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("hex");
}

/** Password hashes for users.acl, by user name (application users, admin and monitor). */
export type PasswordHashes = Readonly<Record<string, string>>;

/** A file a config set puts on the host (a ConfigSet `ManagedFile`). */
export interface RenderedFile {
  /** Absolute path on the host. */
  readonly path: string;
  readonly content: string;
  /** Octal mode, e.g. "0640"; the ConfigSet default (0644) when absent. */
  readonly mode?: string;
  /** Owner and group; root when absent. */
  readonly owner?: string;
  readonly group?: string;
  /** Mode of the file's directory when the set creates it; the ConfigSet default (0755) when absent. */
  readonly dirMode?: string;
  /** The content is a secret: masked in state and diffs. */
  readonly secret?: boolean;
}

/** The files of the node, by the config set that installs them. */
export interface ModelCacheFiles {
  /**
   * The okome-redis-* host scripts and their settings. A set of their own, applied before the
   * config and removed after it, so they are there to validate and activate its removal too.
   */
  readonly scripts: readonly RenderedFile[];
  /** redis.conf and users.acl: validated, then applied live. */
  readonly config: readonly RenderedFile[];
  /** The restart-only settings; a change to this set is a restart (see okome-redis-restart). */
  readonly restart: readonly RenderedFile[];
  /** prometheus-redis-exporter's settings. */
  readonly exporter: readonly RenderedFile[];
}

/**
 * Modes okome-redis-ownership keeps (root the owner of each). Redis's config: group redis reads
 * it, nobody but root writes it or its dir.
 */
export const MODEL_CACHE_MODES = {
  redisConfigDir: "0750",
  redisConfig: "0640",
  /** {@link OKOME_SECRETS_DIR}: root only. */
  secretsDir: "0700",
  /** The exporter's secrets dir: group prometheus may enter it and read its one file. */
  exporterSecretsDir: "0750",
} as const;

/** Paths of the files the node installs besides the platform's own. */
export const MODEL_CACHE_PATHS = {
  scriptsEnv: "/etc/okome/redis.env",
  restartSettings: "/etc/okome/redis-restart-settings",
  adminSecret: `${OKOME_SECRETS_DIR}/redis-admin`,
  /** The admin secret the running server last accepted; on tmpfs, since it lives as long as the server. */
  adminAcceptedSecret: "/run/okome/redis-admin-accepted",
  exporterPasswords: `${REDIS_EXPORTER.secretsDir}/redis-exporter.json`,
} as const;

/** The addresses Redis listens on: `bind`, then the node's own, once each. */
export function listenAddresses(a: ResolvedModelCacheArgs): string[] {
  return [...new Set([...a.bind, a.host.address])];
}

/** Where the exporter (on the host itself) reaches Redis: loopback when bound, else the node address. */
function exporterRedisAddress(a: ResolvedModelCacheArgs): string {
  return a.bind.includes("127.0.0.1") ? "127.0.0.1" : a.host.address;
}

function renderRedisConf(a: ResolvedModelCacheArgs): string {
  const extra = Object.entries(a.extraOptions)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([name, value]) => ({ name, value }));
  return renderTemplate("redis/redis.conf.mustache", {
    host: a.host.name,
    bind: listenAddresses(a).join(" "),
    port: a.port,
    unixSocket: REDIS.unixSocket,
    pidFile: REDIS.pidFile,
    logFile: REDIS.logFile,
    dataDir: REDIS.dataDir,
    aclFile: REDIS.aclFile,
    persistence: a.persistence,
    hostMemory: a.hostMemory,
    maxmemory: a.maxmemory,
    maxmemoryPolicy: a.maxmemoryPolicy,
    allkeysLru: a.maxmemoryPolicy === "allkeys-lru",
    hasExtraOptions: extra.length > 0,
    extraOptions: extra,
  });
}

/** The directive lines of a rendered redis.conf that only a restart applies, in file order. */
export function restartOnlyLines(redisConf: string): string[] {
  return redisConf
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .filter((line) => REDIS_RESTART_ONLY.has(line.split(" ")[0]));
}

function hashOf(hashes: PasswordHashes, user: string): string {
  const h = hashes[user];
  if (h === undefined || !/^[0-9a-f]{64}$/.test(h))
    throw new Error(`no sha256 password hash for ACL user ${user}`);
  return h;
}

/**
 * Every non-secret file of the node, rendered from validated arguments and password hashes.
 * Pure: the unit tests' golden files come from here, and so does what the component installs.
 */
export function renderModelCache(
  args: ModelCacheSettings,
  hashes: PasswordHashes,
): ModelCacheFiles {
  const a = resolveModelCacheArgs(args);
  const redisConf = renderRedisConf(a);
  const usersAcl = renderTemplate("redis/users.acl.mustache", {
    admin: {
      name: RESERVED_USERS.admin,
      sha256: hashOf(hashes, RESERVED_USERS.admin),
      commands: ["-@all", ...ADMIN_COMMANDS.map((c) => `+${c}`)].join(" "),
    },
    monitor: {
      name: RESERVED_USERS.monitor,
      sha256: hashOf(hashes, RESERVED_USERS.monitor),
      commands: MONITOR_COMMANDS,
    },
    users: a.users.map((u) => ({
      name: u.name,
      sha256: hashOf(hashes, u.name),
      // -@admin -@dangerous last: whatever `commands` grants, these stay denied.
      rules: [
        "resetkeys",
        ...u.keys.map((k) => `~${k}`),
        "resetchannels",
        ...u.channels.map((c) => `&${c}`),
        "-@all",
        ...u.commands,
        "-@admin",
        "-@dangerous",
      ].join(" "),
    })),
  });
  const scriptsEnv = renderTemplate("redis/okome-redis.env.mustache", {
    configFile: REDIS.configFile,
    unit: REDIS.unit,
    user: REDIS.user,
    unixSocket: REDIS.unixSocket,
    adminUser: RESERVED_USERS.admin,
    adminSecretFile: MODEL_CACHE_PATHS.adminSecret,
    adminAcceptedSecretFile: MODEL_CACHE_PATHS.adminAcceptedSecret,
    restartSettingsFile: MODEL_CACHE_PATHS.restartSettings,
    configDir: REDIS.configDir,
    aclFile: REDIS.aclFile,
    group: REDIS.group,
    secretsDir: OKOME_SECRETS_DIR,
    exporterSecretsDir: REDIS_EXPORTER.secretsDir,
    exporterGroup: REDIS_EXPORTER.group,
    modes: MODEL_CACHE_MODES,
    scriptsDir: "/usr/local/sbin",
    restartOnly: [...REDIS_RESTART_ONLY].sort().join(" "),
  });
  const script = (path: string, asset: string): RenderedFile => ({
    path,
    content: readScript(asset),
    mode: "0755",
  });
  // Root writes them, Redis only reads them (no CONFIG REWRITE, no ACL SAVE).
  const redisReadable = {
    mode: MODEL_CACHE_MODES.redisConfig,
    owner: "root",
    group: REDIS.group,
  } as const;
  return {
    scripts: [
      { path: MODEL_CACHE_PATHS.scriptsEnv, content: scriptsEnv, mode: "0644" },
      script(HOST_SCRIPTS.redisServerCandidate, "okome-redis-server-candidate.sh"),
      script(HOST_SCRIPTS.redisApply, "okome-redis-apply.sh"),
      script(HOST_SCRIPTS.redisRestart, "okome-redis-restart.sh"),
      script(HOST_SCRIPTS.redisOwnership, "okome-redis-ownership.sh"),
    ],
    config: [
      { path: REDIS.configFile, content: redisConf, ...redisReadable },
      { path: REDIS.aclFile, content: usersAcl, ...redisReadable },
    ],
    restart: [
      {
        path: MODEL_CACHE_PATHS.restartSettings,
        content: renderTemplate("redis/okome-restart-settings.mustache", {
          configFile: REDIS.configFile,
          settings: restartOnlyLines(redisConf).map((line) => ({ line })),
        }),
        mode: "0644",
      },
    ],
    exporter: [
      {
        path: REDIS_EXPORTER.defaultsFile,
        content: renderTemplate("prometheus-redis-exporter/prometheus-redis-exporter.mustache", {
          enabled: a.exporter,
          redisAddress: exporterRedisAddress(a),
          redisPort: a.port,
          monitorUser: RESERVED_USERS.monitor,
          passwordFile: MODEL_CACHE_PATHS.exporterPasswords,
          listenAddress: a.host.address,
          listenPort: a.exporterPort,
        }),
        mode: "0644",
      },
    ],
  };
}

/** Passwords that must reach the host in plaintext (root- or group-only files). */
export interface ModelCacheSecrets {
  readonly adminPassword: string;
  readonly monitorPassword: string;
}

/**
 * The node's plaintext secrets, by the config set that installs them: the admin's (root-only,
 * for the host scripts) beside the users.acl that holds its hash, so the two change in one
 * transaction; the monitor's (group prometheus) beside the exporter's settings.
 */
export function renderModelCacheSecrets(
  args: ModelCacheSettings,
  secrets: ModelCacheSecrets,
): ModelCacheFiles {
  const a = resolveModelCacheArgs(args);
  const exporterUrl = `redis://${exporterRedisAddress(a)}:${a.port}`;
  const monitor: RenderedFile = {
    path: MODEL_CACHE_PATHS.exporterPasswords,
    content: `${JSON.stringify({ [exporterUrl]: secrets.monitorPassword })}\n`,
    mode: "0640",
    group: REDIS_EXPORTER.group,
    dirMode: MODEL_CACHE_MODES.exporterSecretsDir,
    secret: true,
  };
  return {
    scripts: [],
    config: [
      {
        path: MODEL_CACHE_PATHS.adminSecret,
        content: secrets.adminPassword,
        mode: "0600",
        dirMode: MODEL_CACHE_MODES.secretsDir,
        secret: true,
      },
    ],
    restart: [],
    exporter: a.exporter ? [monitor] : [],
  };
}

/** The host commands of the node's config sets (run as root by the ConfigSet transaction). */
export function modelCacheCommands(args: ModelCacheSettings) {
  const a = resolveModelCacheArgs(args);
  const unit = REDIS_EXPORTER.unit;
  const metrics = `http://${a.host.address}:${a.exporterPort}/metrics`;
  return {
    // Config ownership must be right before the config set writes into /etc/redis. On delete the
    // script is already gone and the root-owned layout stays (docs/DECISIONS.md).
    scripts: {
      activate: `if [ -x ${HOST_SCRIPTS.redisOwnership} ]; then ${HOST_SCRIPTS.redisOwnership}; fi`,
    },
    config: {
      validate: HOST_SCRIPTS.redisServerCandidate,
      activate: HOST_SCRIPTS.redisApply,
      verify: `${HOST_SCRIPTS.redisApply} --check`,
    },
    restart: {
      activate: HOST_SCRIPTS.redisRestart,
      verify: `${HOST_SCRIPTS.redisRestart} --check`,
    },
    exporter: a.exporter
      ? {
          activate: `systemctl enable ${unit} && systemctl restart ${unit}`,
          verify: `timeout 20 sh -c 'until curl -fsS ${metrics} | grep -q "^redis_up 1"; do sleep 0.5; done'`,
        }
      : {
          activate: `systemctl disable --now ${unit}`,
          verify: `! systemctl is-active --quiet ${unit}`,
        },
  };
}
