import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import { REDIS_MAXMEMORY_POLICIES } from "../platform";
import { MAXMEMORY_HOST_SHARE, ModelCacheSpec, resolveModelCacheArgs } from "./args";
import { parseRedisSize } from "./redisSize";
import { AclUserArgs, RESERVED_USERS } from "./users";

/** Where an extra option's issues point: `extraOptions.<name>`. */
export const EXTRA_OPTIONS_PATH = "extraOptions.";

const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const COMMAND_RULE = /^[+-](@[a-z]+|[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)?)$/;
const PATTERN = /^[^\s"'\\]+$/;
const OPTION_NAME = /^[a-z][a-z0-9_-]*$/;
const OPTION_VALUE = /^[^\s"'\\]+( [^\s"'\\]+)*$/;

/** Directives of redis.conf.mustache: extraOptions may not set them again. */
const TEMPLATE_DIRECTIVES: Readonly<Record<string, string>> = {
  bind: "the typed field `bind`",
  port: "the typed field `port`",
  maxmemory: "the typed field `maxmemory`",
  "maxmemory-policy": "the typed field `maxmemoryPolicy`",
  save: "the typed field `persistence`",
  appendonly: "the typed field `persistence` (never AOF)",
  aclfile: "the component (users.acl)",
  ...Object.fromEntries(
    [
      "protected-mode",
      "tcp-backlog",
      "unixsocket",
      "unixsocketperm",
      "timeout",
      "tcp-keepalive",
      "daemonize",
      "pidfile",
      "loglevel",
      "logfile",
      "databases",
      "always-show-logo",
      "stop-writes-on-bgsave-error",
      "rdbcompression",
      "rdbchecksum",
      "dbfilename",
      "dir",
      "acllog-max-len",
    ].map((directive) => [directive, "the template (assets/templates/redis/redis.conf.mustache)"]),
  ),
};

/**
 * Redis 7.0 settings whose value is a secret. redis.conf is not a secret file: its content sits
 * in plaintext in the Pulumi state, in every diff and in the backups, and the redis group reads it.
 */
const SECRET_OPTIONS = [
  "requirepass",
  "masterauth",
  "tls-key-file-pass",
  "tls-client-key-file-pass",
] as const;

/** Directives that would undo the ACL setup or turn the node into something else. */
const FORBIDDEN_OPTIONS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    SECRET_OPTIONS.map((name) => [
      name,
      "its value is a secret, and redis.conf is not one: it would sit in plaintext in the Pulumi state, diffs and the host's backups",
    ]),
  ),
  include: "would pull in settings okome-cache does not manage",
  user: "users belong in `users` (the aclfile and inline users exclude each other)",
  masteruser: "the model cache is a single node, not a replica",
  replicaof: "the model cache is a single node, not a replica",
  slaveof: "the model cache is a single node, not a replica",
  "rename-command": "hides commands from the ACL rules instead of denying them",
  loadmodule: "modules are outside what okome-cache validates",
  "enable-debug-command": "DEBUG stays off",
  "enable-module-command": "MODULE stays off",
  "enable-protected-configs": "dir and dbfilename stay unchangeable at runtime",
};

function userIssues(users: readonly AclUserArgs[]): Issue[] {
  const issues: Issue[] = [];
  if (users.length === 0)
    issues.push({ path: "users", reason: "must name at least one user (the orchestrator's)" });
  const reserved = new Set<string>(["default", ...Object.values(RESERVED_USERS)]);
  const seen = new Set<string>();
  users.forEach((user, index) => {
    const at = `users[${index}]`;
    if (!USER_NAME.test(user.name)) {
      issues.push({
        path: `${at}.name`,
        reason: "must be a lower-case letter, then letters, digits, - or _ (at most 32)",
      });
    } else if (reserved.has(user.name)) {
      issues.push({
        path: `${at}.name`,
        reason: `"${user.name}" is reserved (${[...reserved].join(", ")})`,
      });
    } else if (seen.has(user.name)) {
      issues.push({ path: `${at}.name`, reason: `"${user.name}" is listed twice` });
    }
    seen.add(user.name);
    if (user.keys.length === 0)
      issues.push({ path: `${at}.keys`, reason: "must list at least one key pattern" });
    user.keys.forEach((pattern, patternIndex) => {
      if (!PATTERN.test(pattern))
        issues.push({
          path: `${at}.keys[${patternIndex}]`,
          reason: "must be a glob without spaces, quotes or backslashes",
        });
    });
    user.channels.forEach((pattern, patternIndex) => {
      if (!PATTERN.test(pattern)) {
        issues.push({
          path: `${at}.channels[${patternIndex}]`,
          reason: "must be a glob without spaces, quotes or backslashes",
        });
      }
    });
    user.commands.forEach((rule, ruleIndex) => {
      if (!COMMAND_RULE.test(rule)) {
        issues.push({
          path: `${at}.commands[${ruleIndex}]`,
          reason: "must be +command, +command|subcommand or +@category (or -)",
        });
      }
    });
  });
  return issues;
}

function extraOptionIssues(options: Readonly<Record<string, string>>): Issue[] {
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(options)) {
    const at = `${EXTRA_OPTIONS_PATH}${name}`;
    if (!OPTION_NAME.test(name))
      issues.push({ path: at, reason: "must be a Redis config name like io-threads" });
    else if (name in TEMPLATE_DIRECTIVES)
      issues.push({ path: at, reason: `is set by ${TEMPLATE_DIRECTIVES[name]}` });
    else if (name in FORBIDDEN_OPTIONS)
      issues.push({ path: at, reason: `is not allowed: ${FORBIDDEN_OPTIONS[name]}` });
    if (typeof value !== "string" || !OPTION_VALUE.test(value)) {
      issues.push({
        path: at,
        reason: "value must be space-separated tokens without quotes, backslashes or newlines",
      });
    }
  }
  return issues;
}

function portIssue(path: string, port: number): Issue[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [{ path, reason: `must be an integer from 1 to 65535, got ${port}` }];
}

/**
 * Every problem in the arguments at once, each named by its property path (`maxmemory`,
 * `bind[1]`, `users[0].commands[3]`, `extraOptions.io-threads`). Pure; the component throws
 * them together before it registers anything.
 */
export function validateModelCacheArgs(spec: ModelCacheSpec): Issue[] {
  const resolved = resolveModelCacheArgs(spec);
  const issues: Issue[] = [];
  if (!isIPv4(resolved.host.address))
    issues.push({
      path: "host.address",
      reason: `must be an IPv4 address, got "${resolved.host.address}"`,
    });
  resolved.bind.forEach((addr, index) => {
    if (!isIPv4(addr))
      issues.push({ path: `bind[${index}]`, reason: `must be an IPv4 address, got "${addr}"` });
    else if (addr === "0.0.0.0") {
      issues.push({
        path: `bind[${index}]`,
        reason:
          "must be a specific address: 0.0.0.0 would expose Redis on every interface, the VIP included",
      });
    } else if (addr === resolved.vip) {
      issues.push({
        path: `bind[${index}]`,
        reason: `must not be the VIP (${addr}): keepalived moves it between the nodes, and Redis must answer on the node's own address only`,
      });
    }
  });
  issues.push(...portIssue("port", resolved.port));
  const hostBytes = parseRedisSize(resolved.hostMemory);
  if (hostBytes === undefined || hostBytes === 0) {
    issues.push({
      path: "hostMemory",
      reason: `must be a positive Redis size like 8gb, got "${resolved.hostMemory}"`,
    });
  }
  const maxBytes = parseRedisSize(resolved.maxmemory);
  if (maxBytes === undefined) {
    issues.push({
      path: "maxmemory",
      reason: `must be a Redis size like 4gb or 256mb (units b, k, kb, m, mb, g, gb), got "${resolved.maxmemory}"`,
    });
  } else if (maxBytes === 0) {
    issues.push({
      path: "maxmemory",
      reason: "must be above 0: 0 means no limit, and an unbounded cache takes the whole Pi",
    });
  } else if (hostBytes && maxBytes > hostBytes * MAXMEMORY_HOST_SHARE) {
    issues.push({
      path: "maxmemory",
      reason: `${resolved.maxmemory} is more than ${MAXMEMORY_HOST_SHARE * 100}% of the host's ${resolved.hostMemory} of RAM: Redis's resident size runs above maxmemory, and the node also runs the standby edge`,
    });
  }
  if (!(REDIS_MAXMEMORY_POLICIES as readonly string[]).includes(resolved.maxmemoryPolicy)) {
    issues.push({
      path: "maxmemoryPolicy",
      reason: `must be one of ${REDIS_MAXMEMORY_POLICIES.join(", ")}, got "${resolved.maxmemoryPolicy}"`,
    });
  }
  issues.push(...userIssues(resolved.users));
  issues.push(...portIssue("exporterPort", resolved.exporterPort));
  if (resolved.exporter && resolved.exporterPort === resolved.port) {
    issues.push({ path: "exporterPort", reason: `must differ from port (${resolved.port})` });
  }
  issues.push(...extraOptionIssues(resolved.extraOptions));
  return issues;
}
