import type { ManagedFile } from "../../providers";
import { EDGE_CACHE_PATHS } from "../edgeCache/paths";
import { OS, REDIS } from "../platform";
import { hostScript, renderTemplate } from "../templates";
import { OpsToolsSpec, resolveOpsToolsArgs } from "./args";
import { OPS_TOOLS_PATHS } from "./paths";

/** The two nodes the tools go on. */
export type OpsNodeRole = "edge" | "model";

/** The files of one node, by the role (the config set) that installs them. */
export interface OpsToolsFiles {
  /** Both scripts, okome-chaos's settings and, while chaos is enabled, its flag file. */
  readonly tools: readonly ManagedFile[];
  /** okome-validate's settings: from secrets, so {@link renderValidateEnv} renders them. */
  readonly settings: readonly ManagedFile[];
}

/** The roles of a node's config sets, in the order they apply. */
export type OpsToolsSetRole = keyof OpsToolsFiles;

/** What okome-validate logs in to Redis with (resolved ModelCacheNode outputs). */
export interface OpsRedisSecrets {
  readonly port: number;
  readonly monitorUser: string;
  readonly monitorPassword: string;
  readonly keysUser: string;
  readonly keysPassword: string;
}

/** Characters an unquoted value of a sourced env file may hold (SecretPassword's are among them). */
const ENV_SAFE = /^[A-Za-z0-9._@%+=:,/-]+$/;

/**
 * The files of `node` that hold no secret. Pure: the unit tests' golden files come from here.
 */
export function renderOpsTools(spec: OpsToolsSpec, node: OpsNodeRole): OpsToolsFiles {
  const r = resolveOpsToolsArgs(spec);
  const view = {
    ...r,
    node: r[node].host.name,
    cacheDir: EDGE_CACHE_PATHS.cacheDir,
    // Redis runs on the model node only.
    redisUnit: node === "model" ? REDIS.unit : "",
    chaosFlag: OPS_TOOLS_PATHS.chaosFlag,
    textfileDir: OS.textfileDir,
  };
  const file = (path: string, template: string): ManagedFile => ({
    path,
    content: renderTemplate(template, view),
    mode: "0644",
  });
  return {
    tools: [
      hostScript(OPS_TOOLS_PATHS.chaosScript, "okome-chaos.sh"),
      hostScript(OPS_TOOLS_PATHS.validateScript, "okome-validate.sh"),
      file(OPS_TOOLS_PATHS.chaosEnv, "okome/chaos.env.mustache"),
      ...(r.chaosEnabled ? [file(OPS_TOOLS_PATHS.chaosFlag, "okome/CHAOS_ENABLE.mustache")] : []),
    ],
    settings: [],
  };
}

/** okome-validate's settings of `node`, root only: they hold the Redis passwords. */
export function renderValidateEnv(
  spec: OpsToolsSpec,
  node: OpsNodeRole,
  redis: OpsRedisSecrets,
): ManagedFile[] {
  const r = resolveOpsToolsArgs(spec);
  for (const [name, value] of Object.entries(redis))
    if (!ENV_SAFE.test(String(value)))
      throw new Error(`OpsTools: the Redis ${name} has characters an env file would need quoted`);
  const content = renderTemplate("okome/validate.env.mustache", {
    ...r,
    ...redis,
    redisPort: redis.port,
    node: r[node].host.name,
  });
  return [{ path: OPS_TOOLS_PATHS.validateEnv, content, mode: "0600", secret: true }];
}
