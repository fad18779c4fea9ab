// The OS baseline's domain: what HardenedPi (components/HardenedPi.ts) is made of.
export type {
  HardenedPiArgs,
  HardenedPiSpec,
  ResolvedHardenedPiArgs,
  TmpfsMount,
  WireGuardAccess,
} from "./args";
export { HARDENED_PI_DEFAULTS, resolveHardenedPiArgs } from "./args";
export { validateHardenedPiArgs } from "./validate";
export { HARDENED_PI_PATHS } from "./paths";
export type { HardenedPiFiles, HardenedPiRole } from "./render";
export { renderHardenedPi, sysctlSettings } from "./render";
export { hardenedPiCommands } from "./commands";
export { hardenedPiPackages } from "./packages";
export type { HardenedPiStackArgs } from "./stackKeys";
export {
  HARDENED_PI_STACK_KEYS,
  hardenedPiStackSchema,
  readHardenedPiStackKeys,
} from "./stackKeys";
