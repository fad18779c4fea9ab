// The model cache's domain: what ModelCacheNode (components/ModelCacheNode.ts) is made of.
export type {
  MaxmemoryPolicy,
  ModelCacheNodeArgs,
  ModelCacheSpec,
  RedisLogin,
  ResolvedModelCacheArgs,
} from "./args";
export { MAXMEMORY_HOST_SHARE, MODEL_CACHE_DEFAULTS, resolveModelCacheArgs } from "./args";
export type { AclUserArgs, PasswordHashes } from "./users";
export {
  ADMIN_COMMANDS,
  HEALTH_RULES,
  ORCHESTRATOR_USER,
  RESERVED_USERS,
  passwordSha256,
  passwordUsers,
} from "./users";
export { parseRedisSize } from "./redisSize";
export { validateModelCacheArgs } from "./validate";
export { MODEL_CACHE_MODES, MODEL_CACHE_PATHS } from "./paths";
export type { ModelCacheFiles, ModelCacheRole, ModelCacheSecrets } from "./render";
export {
  listenAddresses,
  renderModelCache,
  renderModelCacheSecrets,
  restartOnlyLines,
} from "./render";
export { modelCacheCommands } from "./commands";
export { modelCachePackages } from "./packages";
export {
  MODEL_CACHE_STACK_KEYS,
  modelCacheStackSchema,
  readModelCacheStackKeys,
} from "./stackKeys";
