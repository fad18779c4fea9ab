import { Issue } from "../common/issues";
import {
  SECRET_CONFIG_KEYS,
  STACK_CONFIG_KEYS,
  ValidationContext,
  validateStackConfig,
} from "./config";
import {
  MODEL_CACHE_CONFIG_KEYS,
  ModelCacheConfig,
  readModelCacheConfig,
} from "./modelCacheConfig";

/**
 * How a caller reads one stack key (without the namespace): `pulumi.Config` in the program,
 * `pulumi config --json` in `npm run doctor`. A secret key may answer any placeholder: only
 * its presence is validated.
 */
export type ConfigReader = (name: string) => string | undefined;

/** Every stack setting the program reads, validated with every problem at once. */
export interface StackSettings {
  /** The settings of components/config.ts, raw, for parseStackConfig. */
  readonly raw: Record<string, string | undefined>;
  readonly modelCache: ModelCacheConfig;
  /** Every problem, each named by its full config key. */
  readonly issues: readonly Issue[];
}

/** Reads and validates the whole stack config: the one validation the program and doctor share. */
export function readStackSettings(read: ConfigReader, context: ValidationContext): StackSettings {
  const raw = Object.fromEntries(STACK_CONFIG_KEYS.map((k) => [k, read(k)]));
  const modelCache = readModelCacheConfig({
    modelAddress: raw.modelAddress,
    vip: raw.vip,
    ...Object.fromEntries(Object.values(MODEL_CACHE_CONFIG_KEYS).map((k) => [k, read(k)])),
  });
  return {
    raw,
    modelCache,
    issues: [...validateStackConfig(raw, context), ...modelCache.issues],
  };
}

/** True for the keys whose value the program never reads in clear while validating. */
export const isSecretKey = (name: string) => SECRET_CONFIG_KEYS.includes(name);
