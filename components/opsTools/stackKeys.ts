import { z } from "zod";
import { RawStackValues, StackKeyReading, readStackKeys, stackValue } from "../kit/stackKeys";
import type { OpsToolsSpec } from "./args";

/** The operator tools' stack keys (Pulumi.yaml lists where optional keys are described). */
export const opsToolsStackSchema = z.object({
  /** `true` creates /etc/okome/CHAOS_ENABLE on both nodes: okome-chaos may inject faults. */
  chaosEnabled: stackValue.boolean().optional(),
});

export const OPS_TOOLS_STACK_KEYS = opsToolsStackSchema.keyof().options;

/**
 * What the stack sets of the tools: their own key, and the exporters' ports, which are
 * HardenedPi's and ModelCacheNode's keys (components/stack.ts fills them in). The hosts, the VIP
 * and the logins are index.ts's.
 */
export type OpsToolsStackArgs = Pick<
  OpsToolsSpec,
  "chaosEnabled" | "nodeExporterPort" | "redisExporterPort"
>;

/** Reads the tools' arguments from raw stack values, each problem named by its full stack key. */
export function readOpsToolsStackKeys(raw: RawStackValues): StackKeyReading<OpsToolsStackArgs> {
  const { values, issues } = readStackKeys(opsToolsStackSchema, raw);
  return {
    args: { ...(values.chaosEnabled !== undefined && { chaosEnabled: values.chaosEnabled }) },
    issues,
  };
}
