// The operator tools' domain: what OpsTools (components/OpsTools.ts) is made of.
export type { ChaosBounds, OpsNode, OpsRedisLogins, OpsToolsArgs, OpsToolsSpec } from "./args";
export { OPS_TOOLS_DEFAULTS, resolveOpsToolsArgs } from "./args";
export { validateOpsToolsArgs } from "./validate";
export { OPS_TOOLS_PATHS } from "./paths";
export type { OpsNodeRole, OpsRedisSecrets, OpsToolsFiles, OpsToolsSetRole } from "./render";
export { renderOpsTools, renderValidateEnv } from "./render";
export { opsToolsCommands } from "./commands";
export type { OpsToolsStackArgs } from "./stackKeys";
export { OPS_TOOLS_STACK_KEYS, opsToolsStackSchema, readOpsToolsStackKeys } from "./stackKeys";
