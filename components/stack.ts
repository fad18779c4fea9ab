import { Issue } from "../common/issues";
import {
  SECRET_CONFIG_KEYS,
  STACK_CONFIG_KEYS,
  ValidationContext,
  validateStackConfig,
} from "./config";
import type { RawStackValues, StackKeyReading } from "./kit";
import { HARDENED_PI_STACK_KEYS, HardenedPiStackArgs, readHardenedPiStackKeys } from "./hardenedPi";
import { MODEL_CACHE_STACK_KEYS, ModelCacheSpec, readModelCacheStackKeys } from "./modelCache";
import { EDGE_CACHE_STACK_KEYS, EdgeCacheStackArgs, readEdgeCacheStackKeys } from "./edgeCache";
import { VIP_PAIR_STACK_KEYS, VipPairStackArgs, readVipPairStackKeys } from "./vipPair";
import { OPS_TOOLS_STACK_KEYS, OpsToolsStackArgs, readOpsToolsStackKeys } from "./opsTools";

/**
 * How a caller reads one stack key (without the namespace): `pulumi.Config` in the program,
 * `pulumi config --json` in `npm run doctor`. A secret key may answer any placeholder: only
 * its presence is validated.
 */
export type ConfigReader = (name: string) => string | undefined;

/**
 * Every key the program reads: the shared schema's (components/config.ts), then each
 * component's schema's. Derived from the schemas: there is no other list.
 */
export const STACK_KEYS: readonly string[] = [
  ...STACK_CONFIG_KEYS,
  ...HARDENED_PI_STACK_KEYS,
  ...MODEL_CACHE_STACK_KEYS,
  ...EDGE_CACHE_STACK_KEYS,
  ...VIP_PAIR_STACK_KEYS,
  ...OPS_TOOLS_STACK_KEYS,
];

/** The whole stack config as read, with every problem at once. */
export interface StackReading {
  /** Every key's raw value; parseStackConfig shapes the shared ones. */
  readonly raw: RawStackValues;
  /** The OS baseline's arguments, the same for both nodes. */
  readonly hardening: StackKeyReading<HardenedPiStackArgs>;
  readonly modelCache: StackKeyReading<Omit<ModelCacheSpec, "host">>;
  /** The edges' arguments, the same for the edge and the standby edge. */
  readonly edgeCache: StackKeyReading<EdgeCacheStackArgs>;
  /** The VIP pair's arguments (the hosts are index.ts's). */
  readonly vipPair: StackKeyReading<VipPairStackArgs>;
  /** The operator tools' arguments (whether chaos drills may run). */
  readonly opsTools: StackKeyReading<OpsToolsStackArgs>;
  /** Every problem, each named by its full stack key. */
  readonly issues: readonly Issue[];
}

/** Reads and validates the whole stack config: the one validation the program and doctor share. */
export function readStack(read: ConfigReader, context: ValidationContext): StackReading {
  const raw = Object.fromEntries(STACK_KEYS.map((name) => [name, read(name)]));
  const hardening = readHardenedPiStackKeys(raw);
  const modelCache = readModelCacheStackKeys(raw);
  const edgeCache = readEdgeCacheStackKeys(raw);
  const vipPair = readVipPairStackKeys(raw);
  // The tools check the exporters on the ports the other components' keys chose.
  const opsToolsKeys = readOpsToolsStackKeys(raw);
  const opsTools = {
    ...opsToolsKeys,
    args: {
      ...opsToolsKeys.args,
      nodeExporterPort: hardening.args.nodeExporterPort,
      redisExporterPort: modelCache.args.exporterPort,
    },
  };
  return {
    raw,
    hardening,
    modelCache,
    edgeCache,
    vipPair,
    opsTools,
    issues: [
      ...validateStackConfig(raw, context),
      ...hardening.issues,
      ...modelCache.issues,
      ...edgeCache.issues,
      ...vipPair.issues,
      ...opsTools.issues,
    ],
  };
}

/** True for the keys whose value the program never reads in clear while validating. */
export const isSecretKey = (name: string) => SECRET_CONFIG_KEYS.includes(name);
