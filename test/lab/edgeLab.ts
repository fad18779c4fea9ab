/**
 * What the edge lab tests share: plain HTTP with timings, the mock orchestrator's control and
 * counters, and the edges' health state.
 */
import { LabHost, onHost } from "../support/lab";

export const MOCK = "http://10.86.0.25:8000";
/** The file okome-health-probe writes on each flip (EDGE_CACHE_PATHS.healthState). */
export const HEALTH_STATE = "/etc/nginx/okome/health_state.conf";

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  readonly ms: number;
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
}

/** GET `path` of the mock, or POST `body` to it. */
export const mock = async (path: string, body?: unknown) =>
  (
    await fetch(`${MOCK}${path}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    })
  ).json() as Promise<{ requests: Record<string, number>; requestIds: string[]; computes: number }>;
/** Requests for `path` that reached the mock orchestrator. */
export const upstreamCount = async (path: string) =>
  (await mock("/__mock/stats")).requests[path] ?? 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}`;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const sh = (host: LabHost, command: string) => onHost(host, command).trim();

export const healthState = (host: LabHost) =>
  /okome_maintenance;/.test(sh(host, `cat ${HEALTH_STATE}`)) ? "DOWN" : "UP";

/** Waits for `state` on every host; returns when each one's state file changed (its clock). */
export async function waitForState(hosts: LabHost[], state: "UP" | "DOWN"): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (hosts.every((host) => healthState(host) === state))
      return hosts.map((host) => Number(sh(host, `date -r ${HEALTH_STATE} +%s.%N`)));
    await sleep(250);
  }
  throw new Error(`the edges did not turn ${state} within 30 s`);
}
