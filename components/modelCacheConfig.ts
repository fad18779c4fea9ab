import { CONFIG_NAMESPACE } from "./config";
import { Issue } from "../common/issues";
import {
  MaxmemoryPolicy,
  ModelCacheSettings,
  ORCHESTRATOR_USER,
  validateModelCacheArgs,
} from "./modelCache";

/**
 * The stack config keys of the model cache (Pulumi.yaml has their types and descriptions),
 * by the ModelCacheNode argument they set. `redisUser` names the orchestrator's ACL user.
 */
export const MODEL_CACHE_CONFIG_KEYS = {
  hostMemory: "modelMemory",
  bind: "redisBind",
  port: "redisPort",
  maxmemory: "redisMaxmemory",
  maxmemoryPolicy: "redisMaxmemoryPolicy",
  users: "redisUser",
  exporter: "redisExporter",
  exporterPort: "redisExporterPort",
  extraOptions: "redisExtraOptions",
} as const;

type ArgName = keyof typeof MODEL_CACHE_CONFIG_KEYS;

/** Raw values as `pulumi.Config.get` returns them: strings, arrays as JSON text. */
export type RawSettings = Readonly<Record<string, string | undefined>>;

/** The model cache's arguments from stack config (all but the host and connection), and the issues. */
export interface ModelCacheConfig {
  readonly args: Omit<ModelCacheSettings, "host">;
  /** Every problem, named by its full config key (`okome-cache:redisMaxmemory`). */
  readonly issues: readonly Issue[];
}

const fullKey = (arg: ArgName, rest = "") =>
  `${CONFIG_NAMESPACE}:${MODEL_CACHE_CONFIG_KEYS[arg]}${rest}`;

/**
 * Maps an argument path (`bind[1]`, `users[0].name`, `extraOptions.io-threads`) to the config
 * key that set it; `optionLines` gives each extra option's index in redisExtraOptions.
 */
function configPath(
  argPath: string,
  optionLines: Readonly<Record<string, number>>,
): string | undefined {
  const m = /^([A-Za-z]+)(.*)$/.exec(argPath);
  if (!m || !(m[1] in MODEL_CACHE_CONFIG_KEYS)) return undefined;
  const arg = m[1] as ArgName;
  if (arg === "users") return fullKey("users");
  if (arg === "extraOptions") return fullKey("extraOptions", `[${optionLines[m[2].slice(1)]}]`);
  return fullKey(arg, m[2]);
}

function parseStringArray(text: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the model cache's settings from raw stack config (`raw` also holds `modelAddress` and
 * `vip`, which redisBind may not list) and
 * validates them with the component's own rules, so each problem names the key a user edits.
 * Problems with the address itself are the stack config's to report (components/config.ts).
 */
export function readModelCacheConfig(raw: RawSettings): ModelCacheConfig {
  const issues: Issue[] = [];
  const optionLines: Record<string, number> = {};
  const value = (arg: ArgName) => raw[MODEL_CACHE_CONFIG_KEYS[arg]];
  const integer = (arg: ArgName): number | undefined => {
    const v = value(arg);
    if (v === undefined || /^\d+$/.test(v)) return v === undefined ? undefined : Number(v);
    issues.push({ path: fullKey(arg), reason: `must be an integer, got "${v}"` });
    return undefined;
  };
  const strings = (arg: ArgName): string[] | undefined => {
    const v = value(arg);
    const list = v === undefined ? undefined : parseStringArray(v);
    if (v !== undefined && list === undefined) {
      issues.push({ path: fullKey(arg), reason: 'must be a list of strings, e.g. ["127.0.0.1"]' });
    }
    return list;
  };
  const boolean = (arg: ArgName): boolean | undefined => {
    const v = value(arg);
    if (v === undefined || v === "true" || v === "false")
      return v === undefined ? undefined : v === "true";
    issues.push({ path: fullKey(arg), reason: `must be true or false, got "${v}"` });
    return undefined;
  };
  const extraOptions = (): Record<string, string> | undefined => {
    const lines = strings("extraOptions");
    if (lines === undefined) return undefined;
    const options: Record<string, string> = {};
    lines.forEach((line, i) => {
      const [name, ...rest] = line.split(" ");
      const first = optionLines[name];
      if (first !== undefined) {
        issues.push({
          path: fullKey("extraOptions", `[${i}]`),
          reason: `sets "${name}" again (also ${fullKey("extraOptions", `[${first}]`)}): keep one of the two`,
        });
        return;
      }
      optionLines[name] = i;
      if (rest.length > 0) options[name] = rest.join(" ");
      else
        issues.push({
          path: fullKey("extraOptions", `[${i}]`),
          reason: `must be "<name> <value>", got "${line}"`,
        });
    });
    return options;
  };

  const hostMemory = value("hostMemory");
  if (hostMemory === undefined) {
    issues.push({
      path: fullKey("hostMemory"),
      reason: "is required: the model node's RAM, e.g. 8gb",
    });
  }
  const user = value("users");
  const optional: Partial<ModelCacheSettings> = {
    bind: strings("bind"),
    port: integer("port"),
    maxmemory: value("maxmemory"),
    maxmemoryPolicy: value("maxmemoryPolicy") as MaxmemoryPolicy | undefined,
    users: user === undefined ? undefined : [{ ...ORCHESTRATOR_USER, name: user }],
    exporter: boolean("exporter"),
    exporterPort: integer("exporterPort"),
    extraOptions: extraOptions(),
  };
  const args: Omit<ModelCacheSettings, "host"> = {
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    ...(raw.vip !== undefined && { vip: raw.vip }),
    hostMemory: hostMemory ?? "",
  };
  const host = { name: "model", address: raw.modelAddress ?? "" };
  for (const issue of validateModelCacheArgs({ ...args, host })) {
    const path = configPath(issue.path, optionLines);
    // A missing hostMemory is reported above; a bad host address by the stack config.
    if (path !== undefined && !(issue.path === "hostMemory" && hostMemory === undefined)) {
      issues.push({ path, reason: issue.reason });
    }
  }
  return { args, issues };
}
