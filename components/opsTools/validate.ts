import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import { HOST_NAME, isIntegerIn, isPort } from "../kit/checks";
import { OpsToolsSpec, resolveOpsToolsArgs } from "./args";

/** A URL path without spaces or quotes: it goes into a sourced env file. */
const URL_PATH = /^\/[A-Za-z0-9._~/?=&%-]*$/;

/**
 * Every problem with the arguments, each named by its argument path (`chaos.stormRequests`).
 * Empty when they are valid; nothing is registered until it is.
 */
export function validateOpsToolsArgs(spec: OpsToolsSpec): Issue[] {
  const r = resolveOpsToolsArgs(spec);
  const issues: Issue[] = [];
  const add = (path: string, reason: string) => issues.push({ path, reason });
  const address = (path: string, value: string) => {
    if (!isIPv4(value)) add(path, `must be an IPv4 address, got "${value}"`);
  };
  const port = (path: string, value: number) => {
    if (!isPort(value)) add(path, `must be an integer from 1 to 65535, got ${value}`);
  };
  const integer = (path: string, value: number, min: number, max: number) => {
    if (!isIntegerIn(value, min, max))
      add(path, `must be an integer from ${min} to ${max}, got ${value}`);
  };

  address("vip", r.vip);
  for (const node of ["edge", "model"] as const) {
    if (!HOST_NAME.test(r[node].host.name))
      add(`${node}.host.name`, `must be a host name, got "${r[node].host.name}"`);
    address(`${node}.host.address`, r[node].host.address);
  }
  if (r.edge.host.name === r.model.host.name)
    add("model.host.name", `is the edge's name too (${r.edge.host.name})`);
  address("orchestrator.host", r.orchestrator.host);
  port("orchestrator.port", r.orchestrator.port);
  if (typeof r.chaosEnabled !== "boolean")
    add("chaosEnabled", `must be true or false, got ${String(r.chaosEnabled)}`);
  port("edgePort", r.edgePort);
  if (!URL_PATH.test(r.cacheablePath))
    add("cacheablePath", `must be a URL path like /version, got "${r.cacheablePath}"`);
  port("nodeExporterPort", r.nodeExporterPort);
  port("nginxExporterPort", r.nginxExporterPort);
  port("redisExporterPort", r.redisExporterPort);
  const c = r.chaos;
  integer("chaos.maxDurationSeconds", c.maxDurationSeconds, 1, 3600);
  integer("chaos.defaultDurationSeconds", c.defaultDurationSeconds, 1, c.maxDurationSeconds);
  integer("chaos.stormRequests", c.stormRequests, 1, 10_000);
  integer("chaos.stormParallel", c.stormParallel, 1, 200);
  integer("chaos.diskFillPercent", c.diskFillPercent, 1, 99);
  integer("chaos.diskMarginMb", c.diskMarginMb, 1, 1_000_000);
  integer("chaos.diskFillMaxMb", c.diskFillMaxMb, 1, 1_000_000);
  return issues;
}
