export { ConfigSet, filesToWire } from "./configSet/resource";
export type { ConfigSetArgs, ManagedFile } from "./configSet/resource";
export type { HostConnection } from "./host/resource";
export type { FileState, ServiceKind } from "./configSet/wire";
export { CONFIG_SET_DEFAULTS } from "./configSet/wire";
export { SERVICE_RULES } from "./configSet/validate";
