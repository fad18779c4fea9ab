// The VIP pair's domain: what VipPair (components/VipPair.ts) is made of.
export type { NginxTracking, VipNode, VipPairArgs, VipPairSpec } from "./args";
export { NGINX_TRACKING, VIP_PAIR_DEFAULTS, resolveVipPairArgs } from "./args";
export { isHostIn, validateVipPairArgs } from "./validate";
export {
  VIP_PAIR_PATHS,
  VIP_PAIR_SCRIPTS,
  VIP_PAIR_UNITS,
  VRRP_FILTER_TABLE,
  VRRP_INSTANCE,
} from "./paths";
export type { VipNodeFiles, VipNodeSetRole, VipRole } from "./render";
export { renderVipNode } from "./render";
export { vipNodeCommands } from "./commands";
export { vipPairPackages } from "./packages";
export type { VipPairStackArgs } from "./stackKeys";
export { VIP_PAIR_STACK_KEYS, readVipPairStackKeys, vipPairStackSchema } from "./stackKeys";
