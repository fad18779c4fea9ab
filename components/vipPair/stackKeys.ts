import { z } from "zod";
import {
  RawStackValues,
  StackKeyReading,
  readStackKeys,
  stackKey,
  stackValue,
} from "../kit/stackKeys";
import { NGINX_TRACKING, VipPairSpec } from "./args";
import { validateVipPairArgs } from "./validate";

/**
 * The VIP pair's stack keys (Pulumi.yaml has their descriptions). The VIP, the nodes' addresses
 * and the LAN are the shared keys `vip`, `edgeAddress`, `modelAddress` and `lanCidr`.
 */
export const vipPairStackSchema = z.object({
  vipInterface: z.string().optional(),
  vipRouterId: stackValue.integer().optional(),
  vipPreemptDelaySeconds: stackValue.integer().optional(),
  vipNginxTracking: z
    .enum(NGINX_TRACKING, { error: `must be ${NGINX_TRACKING.join(" or ")}` })
    .optional(),
});

export const VIP_PAIR_STACK_KEYS = vipPairStackSchema.keyof().options;

/** What the stack sets of the pair: everything but the hosts (index.ts knows them). */
export type VipPairStackArgs = Omit<VipPairSpec, "master" | "backup">;

/**
 * The stack key of each of the pair's own arguments. The VIP and the nodes' addresses are shared
 * keys whose shapes the shared schema checks; whether they make a pair (the VIP inside the LAN,
 * not a node's address) VipPair checks when a program builds one (index.ts does): a stack
 * that deploys no pair is not held to it.
 */
const STACK_KEY_OF_ARG: Readonly<Record<string, string>> = {
  interface: "vipInterface",
  virtualRouterId: "vipRouterId",
  preemptDelaySeconds: "vipPreemptDelaySeconds",
  nginxTracking: "vipNginxTracking",
};

/**
 * Reads the pair's arguments from raw stack values and validates its own keys with the
 * component's rules, each problem named by its full stack key.
 */
export function readVipPairStackKeys(raw: RawStackValues): StackKeyReading<VipPairStackArgs> {
  const { values, issues } = readStackKeys(vipPairStackSchema, raw);
  const args: VipPairStackArgs = {
    vip: raw.vip ?? "",
    lanCidr: raw.lanCidr ?? "",
    ...(values.vipInterface !== undefined && { interface: values.vipInterface }),
    ...(values.vipRouterId !== undefined && { virtualRouterId: values.vipRouterId }),
    ...(values.vipPreemptDelaySeconds !== undefined && {
      preemptDelaySeconds: values.vipPreemptDelaySeconds,
    }),
    ...(values.vipNginxTracking !== undefined && { nginxTracking: values.vipNginxTracking }),
  };
  const probe = {
    ...args,
    vip: "192.0.2.18",
    lanCidr: "192.0.2.0/24",
    master: { host: { name: "okome-edge", address: "192.0.2.20" } },
    backup: { host: { name: "okome-model", address: "192.0.2.19" } },
  };
  for (const issue of validateVipPairArgs(probe)) {
    const key = STACK_KEY_OF_ARG[issue.path];
    if (key !== undefined && !issues.some((i) => i.path === stackKey(key)))
      issues.push({ path: stackKey(key), reason: issue.reason });
  }
  return { args, issues };
}
