// What every component is built from: see docs/DECISIONS.md ("The component kit").
export { CONFIG_NAMESPACE, readStackKeys, stackKey, stackKeyIssue, stackValue } from "./stackKeys";
export type { RawStackValues, StackKeyReading } from "./stackKeys";
export { configSetsByRole } from "./configSets";
export type { ConfigSetRole, ConfigSetsByRoleArgs, FilesByRole, HostCommands } from "./configSets";
export { withDefaults } from "./defaults";
export type { WithDefaults } from "./defaults";
