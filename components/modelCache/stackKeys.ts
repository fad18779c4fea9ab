import { z } from "zod";
import { Issue } from "../../common/issues";
import {
  RawStackValues,
  StackKeyReading,
  readStackKeys,
  stackKey,
  stackValue,
} from "../kit/stackKeys";
import { MaxmemoryPolicy, ModelCacheSpec } from "./args";
import { ORCHESTRATOR_USER } from "./users";
import { EXTRA_OPTIONS_PATH, validateModelCacheArgs } from "./validate";

/**
 * The model cache's stack keys (Pulumi.yaml has their descriptions), in the order their problems
 * are reported. Each parses the text Pulumi hands over; the values themselves are checked by the
 * component's own rules ({@link validateModelCacheArgs}), so stack keys and direct arguments
 * cannot disagree.
 */
export const modelCacheStackSchema = z.object({
  modelMemory: z.string().describe("the model node's RAM, e.g. 8gb"),
  redisBind: stackValue.stringList('["127.0.0.1"]').optional(),
  redisPort: stackValue.integer().optional(),
  redisMaxmemory: z.string().optional(),
  redisMaxmemoryPolicy: z.custom<MaxmemoryPolicy>((text) => typeof text === "string").optional(),
  /** The orchestrator's ACL user name; it keeps {@link ORCHESTRATOR_USER}'s rights. */
  redisUser: z.string().optional(),
  redisExporter: stackValue.boolean().optional(),
  redisExporterPort: stackValue.integer().optional(),
  /** redis.conf lines `<name> <value>`, one per name. */
  redisExtraOptions: stackValue.stringList('["io-threads 2"]').optional(),
});

/** Every stack key of the model cache, as Pulumi.<stack>.yaml names it without the namespace. */
export const MODEL_CACHE_STACK_KEYS = modelCacheStackSchema.keyof().options;

type StackKeyName = (typeof MODEL_CACHE_STACK_KEYS)[number];

/** The argument each stack key sets: how an argument's issue finds the key a user edits. */
const ARG_OF_STACK_KEY = {
  modelMemory: "hostMemory",
  redisBind: "bind",
  redisPort: "port",
  redisMaxmemory: "maxmemory",
  redisMaxmemoryPolicy: "maxmemoryPolicy",
  redisUser: "users",
  redisExporter: "exporter",
  redisExporterPort: "exporterPort",
  redisExtraOptions: "extraOptions",
} as const satisfies Record<StackKeyName, keyof ModelCacheSpec>;

const STACK_KEY_OF_ARG = Object.fromEntries(
  Object.entries(ARG_OF_STACK_KEY).map(([key, arg]) => [arg, key]),
) as Readonly<Record<string, StackKeyName>>;

/** The extra options of `redisExtraOptions` lines, and the line that set each name. */
function extraOptionsFromLines(lines: readonly string[]) {
  const options: Record<string, string> = {};
  const lineOf: Record<string, number> = {};
  const issues: Issue[] = [];
  const lineKey = (index: number) => stackKey("redisExtraOptions", [index]);
  lines.forEach((line, index) => {
    const [name, ...valueTokens] = line.split(" ");
    const first = lineOf[name];
    if (first !== undefined) {
      issues.push({
        path: lineKey(index),
        reason: `sets "${name}" again (also ${lineKey(first)}): keep one of the two`,
      });
      return;
    }
    lineOf[name] = index;
    if (valueTokens.length > 0) options[name] = valueTokens.join(" ");
    else issues.push({ path: lineKey(index), reason: `must be "<name> <value>", got "${line}"` });
  });
  return { options, lineOf, issues };
}

/**
 * Reads the model cache's arguments (all but the host and connection) from raw stack values and
 * validates them with the component's own rules, each problem named by the full stack key
 * (`okome-cache:redisExtraOptions[1]`). `raw` also holds the shared `modelAddress` and `vip`
 * (redisBind may not list the VIP); problems with those are the shared schema's to report
 * (components/config.ts).
 */
export function readModelCacheStackKeys(
  raw: RawStackValues,
): StackKeyReading<Omit<ModelCacheSpec, "host">> {
  const { values, issues } = readStackKeys(modelCacheStackSchema, raw);
  const extra =
    values.redisExtraOptions === undefined
      ? undefined
      : extraOptionsFromLines(values.redisExtraOptions);
  if (extra) issues.push(...extra.issues);
  const optional: Partial<ModelCacheSpec> = {
    bind: values.redisBind,
    port: values.redisPort,
    maxmemory: values.redisMaxmemory,
    maxmemoryPolicy: values.redisMaxmemoryPolicy,
    users:
      values.redisUser === undefined
        ? undefined
        : [{ ...ORCHESTRATOR_USER, name: values.redisUser }],
    exporter: values.redisExporter,
    exporterPort: values.redisExporterPort,
    extraOptions: extra?.options,
  };
  const args: Omit<ModelCacheSpec, "host"> = {
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
    ...(raw.vip !== undefined && { vip: raw.vip }),
    hostMemory: values.modelMemory ?? "",
  };
  // The stack key of an argument path: `bind[1]` -> redisBind[1], `users[0].name` -> redisUser
  // (one key sets the one user), `extraOptions.io-threads` -> the redisExtraOptions line setting it.
  const keyOf = (argPath: string): string | undefined => {
    if (argPath.startsWith(EXTRA_OPTIONS_PATH)) {
      const line = extra?.lineOf[argPath.slice(EXTRA_OPTIONS_PATH.length)];
      return stackKey("redisExtraOptions", line === undefined ? [] : [line]);
    }
    const [, arg, inside] = /^([A-Za-z]+)(.*)$/.exec(argPath) ?? [];
    const key = arg === undefined ? undefined : STACK_KEY_OF_ARG[arg];
    if (key === undefined) return undefined;
    return key === "redisUser" ? stackKey(key) : `${stackKey(key)}${inside}`;
  };
  const host = { name: "model", address: raw.modelAddress ?? "" };
  for (const issue of validateModelCacheArgs({ ...args, host })) {
    const path = keyOf(issue.path);
    // A missing modelMemory is reported above; a bad host address by the shared schema.
    if (path !== undefined && !(issue.path === "hostMemory" && values.modelMemory === undefined))
      issues.push({ path, reason: issue.reason });
  }
  return { args, issues };
}
