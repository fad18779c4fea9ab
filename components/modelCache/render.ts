import type { ManagedFile } from "../../providers";
import {
  HOST_SCRIPTS,
  OKOME_SECRETS_DIR,
  REDIS,
  REDIS_EXPORTER,
  REDIS_RESTART_ONLY,
} from "../platform";
import { hostScript, renderTemplate } from "../templates";
import { ModelCacheSpec, ResolvedModelCacheArgs, resolveModelCacheArgs } from "./args";
import { MODEL_CACHE_MODES, MODEL_CACHE_PATHS } from "./paths";
import {
  HEALTH_RULES,
  MONITOR_COMMANDS,
  PasswordHashes,
  RESERVED_USERS,
  adminRules,
  applicationUserRules,
} from "./users";

/** The files of the node, by the role (the config set) that installs them. */
export interface ModelCacheFiles {
  /**
   * The okome-redis-* host scripts and their environment file. A set of their own, applied before
   * the config and removed after it, so they are there to validate and activate its removal too.
   */
  readonly scripts: readonly ManagedFile[];
  /** redis.conf and users.acl: validated, then applied live. */
  readonly config: readonly ManagedFile[];
  /** The restart-only directives; a change to this set is a restart (see okome-redis-restart). */
  readonly restart: readonly ManagedFile[];
  /** prometheus-redis-exporter's environment file. */
  readonly exporter: readonly ManagedFile[];
}

/** The roles of the node's config sets, in the order they apply. */
export type ModelCacheRole = keyof ModelCacheFiles;

/** Where the host scripts are installed. */
const SCRIPTS_DIR = "/usr/local/sbin";

/** The addresses Redis listens on: `bind`, then the node's own, once each. */
export function listenAddresses(resolved: ResolvedModelCacheArgs): string[] {
  return [...new Set([...resolved.bind, resolved.host.address])];
}

/** Where the exporter (on the host itself) reaches Redis: loopback when bound, else the node address. */
export function exporterRedisAddress(resolved: ResolvedModelCacheArgs): string {
  return resolved.bind.includes("127.0.0.1") ? "127.0.0.1" : resolved.host.address;
}

/** The directive lines of a rendered redis.conf that only a restart applies, in file order. */
export function restartOnlyLines(redisConf: string): string[] {
  return redisConf
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .filter((line) => REDIS_RESTART_ONLY.has(line.split(" ")[0]));
}

function hashOf(hashes: PasswordHashes, user: string): string {
  const hash = hashes[user];
  if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash))
    throw new Error(`no sha256 password hash for ACL user ${user}`);
  return hash;
}

/** /etc/redis/redis.conf. */
function renderRedisConf(resolved: ResolvedModelCacheArgs): string {
  const extraOptions = Object.entries(resolved.extraOptions)
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([name, value]) => ({ name, value }));
  return renderTemplate("redis/redis.conf.mustache", {
    host: resolved.host.name,
    bind: listenAddresses(resolved).join(" "),
    port: resolved.port,
    unixSocket: REDIS.unixSocket,
    pidFile: REDIS.pidFile,
    logFile: REDIS.logFile,
    dataDir: REDIS.dataDir,
    aclFile: REDIS.aclFile,
    persistence: resolved.persistence,
    hostMemory: resolved.hostMemory,
    maxmemory: resolved.maxmemory,
    maxmemoryPolicy: resolved.maxmemoryPolicy,
    allkeysLru: resolved.maxmemoryPolicy === "allkeys-lru",
    hasExtraOptions: extraOptions.length > 0,
    extraOptions,
  });
}

/** /etc/redis/users.acl: the reserved users, then the application users, by password hash. */
function renderUsersAcl(resolved: ResolvedModelCacheArgs, hashes: PasswordHashes): string {
  return renderTemplate("redis/users.acl.mustache", {
    admin: {
      name: RESERVED_USERS.admin,
      sha256: hashOf(hashes, RESERVED_USERS.admin),
      commands: adminRules(),
    },
    monitor: {
      name: RESERVED_USERS.monitor,
      sha256: hashOf(hashes, RESERVED_USERS.monitor),
      commands: MONITOR_COMMANDS,
    },
    health: {
      name: RESERVED_USERS.health,
      sha256: hashOf(hashes, RESERVED_USERS.health),
      rules: HEALTH_RULES,
    },
    users: resolved.users.map((user) => ({
      name: user.name,
      sha256: hashOf(hashes, user.name),
      rules: applicationUserRules(user),
    })),
  });
}

/** /etc/okome/redis.env: what the okome-redis-* scripts need to know about this host's Redis. */
function renderRedisEnv(): string {
  return renderTemplate("redis/redis.env.mustache", {
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
    scriptsDir: SCRIPTS_DIR,
    restartOnly: [...REDIS_RESTART_ONLY].sort().join(" "),
  });
}

/** /etc/okome/redis-restart-settings: the restart-only lines of redis.conf. */
function renderRedisRestartSettings(redisConf: string): string {
  return renderTemplate("redis/redis-restart-settings.mustache", {
    configFile: REDIS.configFile,
    directives: restartOnlyLines(redisConf).map((line) => ({ line })),
  });
}

/** /etc/default/prometheus-redis-exporter. */
function renderExporterDefaults(resolved: ResolvedModelCacheArgs): string {
  return renderTemplate("prometheus-redis-exporter/prometheus-redis-exporter.mustache", {
    enabled: resolved.exporter,
    redisAddress: exporterRedisAddress(resolved),
    redisPort: resolved.port,
    monitorUser: RESERVED_USERS.monitor,
    passwordFile: MODEL_CACHE_PATHS.exporterPasswords,
    listenAddress: resolved.host.address,
    listenPort: resolved.exporterPort,
  });
}

/**
 * Every non-secret file of the node, rendered from a validated spec and password hashes.
 * Pure: the unit tests' golden files come from here, and so does what the component installs.
 */
export function renderModelCache(spec: ModelCacheSpec, hashes: PasswordHashes): ModelCacheFiles {
  const resolved = resolveModelCacheArgs(spec);
  const redisConf = renderRedisConf(resolved);
  // Root writes them, Redis only reads them (no CONFIG REWRITE, no ACL SAVE).
  const redisReadable = {
    mode: MODEL_CACHE_MODES.redisConfig,
    owner: "root",
    group: REDIS.group,
  } as const;
  return {
    scripts: [
      { path: MODEL_CACHE_PATHS.scriptsEnv, content: renderRedisEnv(), mode: "0644" },
      hostScript(HOST_SCRIPTS.redisServerCandidate, "okome-redis-server-candidate.sh"),
      hostScript(HOST_SCRIPTS.redisApply, "okome-redis-apply.sh"),
      hostScript(HOST_SCRIPTS.redisRestart, "okome-redis-restart.sh"),
      hostScript(HOST_SCRIPTS.redisOwnership, "okome-redis-ownership.sh"),
    ],
    config: [
      { path: REDIS.configFile, content: redisConf, ...redisReadable },
      { path: REDIS.aclFile, content: renderUsersAcl(resolved, hashes), ...redisReadable },
    ],
    restart: [
      {
        path: MODEL_CACHE_PATHS.restartSettings,
        content: renderRedisRestartSettings(redisConf),
        mode: "0644",
      },
    ],
    exporter: [
      {
        path: REDIS_EXPORTER.defaultsFile,
        content: renderExporterDefaults(resolved),
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
 * transaction; the monitor's (group prometheus) beside the exporter's environment file.
 */
export function renderModelCacheSecrets(
  spec: ModelCacheSpec,
  secrets: ModelCacheSecrets,
): ModelCacheFiles {
  const resolved = resolveModelCacheArgs(spec);
  const exporterUrl = `redis://${exporterRedisAddress(resolved)}:${resolved.port}`;
  const monitor: ManagedFile = {
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
    exporter: resolved.exporter ? [monitor] : [],
  };
}
