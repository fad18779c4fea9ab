import { OKOME_SECRETS_DIR, REDIS_EXPORTER } from "../platform";

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
