/**
 * Facts about the hosts' platform (Debian 12 bookworm on the Pis and in the lab image): paths,
 * unit names, service users, and what the packaged programs can and cannot do. User settings
 * live in the components; nothing here is a knob.
 */

/** Debian's redis-server 7.0 package. */
export const REDIS = {
  package: "redis-server",
  unit: "redis-server",
  user: "redis",
  group: "redis",
  /**
   * The package's config dir. redis-tools' postinst makes it redis:redis 2770 and redis-server's
   * registers a statoverride making redis.conf redis:redis 640: the service user could then swap
   * the files root writes for links. okome-redis-ownership replaces both with root:redis.
   */
  configDir: "/etc/redis",
  configFile: "/etc/redis/redis.conf",
  /** The path the stock redis.conf suggests (commented out there). */
  aclFile: "/etc/redis/users.acl",
  /** The stock redis.conf's suggested socket; /run/redis is the unit's RuntimeDirectory. */
  unixSocket: "/run/redis/redis-server.sock",
  pidFile: "/run/redis/redis-server.pid",
  logFile: "/var/log/redis/redis-server.log",
  dataDir: "/var/lib/redis",
  /** The unit starts redis-server with these on its command line; they override the file. */
  commandLine: { daemonize: "no", supervised: "systemd" },
} as const;

/**
 * Redis 7.0 settings that CONFIG SET refuses ("can't set immutable config" or "can't set
 * protected config"), so only a restart applies a change to them. Every other setting,
 * bind and port included (mutable since 7.0), is applied live. test/unit/redisFacts.test.ts
 * checks this list against the real redis-server.
 */
export const REDIS_RESTART_ONLY: ReadonlySet<string> = new Set([
  "aclfile",
  "always-show-logo",
  "aof_rewrite_cpulist",
  "appenddirname",
  "appendfilename",
  "bgsave_cpulist",
  "bio_cpulist",
  "cluster-config-file",
  "cluster-enabled",
  "cluster-port",
  "daemonize",
  "databases",
  "dbfilename",
  "dir",
  "disable-thp",
  "enable-debug-command",
  "enable-module-command",
  "enable-protected-configs",
  "io-threads",
  "io-threads-do-reads",
  "logfile",
  "pidfile",
  "rdbchecksum",
  "server_cpulist",
  "set-proc-title",
  "socket-mark-id",
  "supervised",
  "syslog-enabled",
  "syslog-facility",
  "syslog-ident",
  "tcp-backlog",
  "unixsocket",
  "unixsocketperm",
]);

/** Eviction policies of Redis 7.0 (`maxmemory-policy`). */
export const REDIS_MAXMEMORY_POLICIES = [
  "volatile-lru",
  "allkeys-lru",
  "volatile-lfu",
  "allkeys-lfu",
  "volatile-random",
  "allkeys-random",
  "volatile-ttl",
  "noeviction",
] as const;

/** Scripts the components install on hosts, by the job they do. */
export const HOST_SCRIPTS = {
  redisServerCandidate: "/usr/local/sbin/okome-redis-server-candidate",
  redisApply: "/usr/local/sbin/okome-redis-apply",
  redisRestart: "/usr/local/sbin/okome-redis-restart",
  redisOwnership: "/usr/local/sbin/okome-redis-ownership",
  sysctlApply: "/usr/local/sbin/okome-sysctl-apply",
  fstabApply: "/usr/local/sbin/okome-fstab-apply",
  pruneServices: "/usr/local/sbin/okome-prune-services",
  hostReport: "/usr/local/sbin/okome-host-report",
} as const;

/** Root-only directory (root:root 0700) for secrets that host scripts read. */
export const OKOME_SECRETS_DIR = "/etc/okome/secrets";

/** Debian's prometheus-redis-exporter 1.45 package. */
export const REDIS_EXPORTER = {
  package: "prometheus-redis-exporter",
  unit: "prometheus-redis-exporter",
  /** Sourced by the unit as its EnvironmentFile; the exporter reads REDIS_* variables. */
  defaultsFile: "/etc/default/prometheus-redis-exporter",
  /** The unit's group: it must be able to read the exporter's password file. */
  group: "prometheus",
  /**
   * root:prometheus 0750, holding only the exporter's password file (root:prometheus 0640): the
   * exporter reads it as user prometheus, which must not reach the root-only secrets dir.
   */
  secretsDir: "/etc/okome/prometheus-secrets",
} as const;

/** Debian's and the Pi's paths and units that HardenedPi configures. */
export const OS = {
  /** Root-owned runtime state of okome's host scripts; a tmpfs, so empty after every boot. */
  runDir: "/run/okome",
  /** Where okome's scripts write textfile metrics for the node exporter (under {@link OS.runDir}). */
  textfileDir: "/run/okome/textfile",
  /** Log directories that services expect under /var/log, as their packages make them. */
  logDirs: [
    { path: "/var/log/nginx", mode: "0755", user: "root", group: "adm" },
    { path: "/var/log/redis", mode: "2750", user: "redis", group: "adm" },
    { path: "/var/log/apt", mode: "0755", user: "root", group: "root" },
    { path: "/var/log/prometheus", mode: "0755", user: "root", group: "root" },
  ],
  sshUnit: "ssh",
  sshd: "/usr/sbin/sshd",
  fail2banUnit: "fail2ban",
  nodeExporterUnit: "prometheus-node-exporter",
  /** The firmware settings of Raspberry Pi OS bookworm (raspi-config writes here). */
  firmwareConfig: "/boot/firmware/config.txt",
  /** Packages the baseline itself needs on every node. */
  packages: [
    "openssh-server",
    "fail2ban",
    // fail2ban reads sshd's messages from the journal through it
    "python3-systemd",
    "nftables",
    "logrotate",
    "prometheus-node-exporter",
    "jq",
  ],
} as const;
