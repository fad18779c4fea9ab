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

/** The stack key each argument path comes from. */
const STACK_KEY_OF_ARG: Readonly<Record<string, string>> = {
  vip: "vip",
  lanCidr: "lanCidr",
  interface: "vipInterface",
  virtualRouterId: "vipRouterId",
  preemptDelaySeconds: "vipPreemptDelaySeconds",
  nginxTracking: "vipNginxTracking",
  "master.host.address": "edgeAddress",
  "backup.host.address": "modelAddress",
};

/**
 * Reads the pair's arguments from raw stack values and validates them with the component's own
 * rules, each problem named by its full stack key. Problems of the shared keys' own shapes are
 * the shared schema's to report; what only the pair requires (the VIP inside the LAN) is here.
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
  // Missing or malformed shared keys are reported by their own schemas, once.
  const shared = [raw.vip, raw.lanCidr, raw.edgeAddress, raw.modelAddress];
  if (shared.some((value) => value === undefined)) return { args, issues };
  const probe = {
    ...args,
    master: { host: { name: "okome-edge", address: raw.edgeAddress ?? "" } },
    backup: { host: { name: "okome-model", address: raw.modelAddress ?? "" } },
  };
  for (const issue of validateVipPairArgs(probe)) {
    const key = STACK_KEY_OF_ARG[issue.path];
    if (key !== undefined && !issues.some((i) => i.path === stackKey(key)))
      issues.push({ path: stackKey(key), reason: issue.reason });
  }
  return { args, issues };
}
