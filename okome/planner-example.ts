// Example: a planner endpoint on node:http that uses the cache and the budgets.
// POST /plan {model, prompt, toolset, repo} with header X-OKOME-Agent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { OkomeBudget } from "./budget";
import { OkomeCache, cacheHeaders } from "./cache";
import { KeyPartError, keys, type PlannerKeyParts } from "./keys";
import { createRedis } from "./redis";
import { ttlMs, type RandomSource } from "./ttl";

/** Body of `POST /plan`. `repo` is the repository content or a fingerprint (tree hash). */
export type PlanRequest = { readonly [K in keyof PlannerKeyParts]: string };

/** Options of {@link createPlannerServer}. */
export interface PlannerServerOptions {
  readonly cache: OkomeCache;
  readonly budget: OkomeBudget;
  /** The expensive planner call (the orchestrator's LLM planner). Default: a stub. */
  readonly plan?: (request: PlanRequest) => Promise<unknown>;
  /** Stale window for planner entries, in milliseconds. Default `60000`. */
  readonly staleMs?: number;
  /** Random source of the planner TTL jitter. Default `Math.random`. */
  readonly random?: RandomSource;
  /** Largest accepted request body, in bytes. Default `1048576`. */
  readonly maxBodyBytes?: number;
}

const AGENT_HEADER = "x-okome-agent";

/** A 4xx answer with a message for the client. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Creates (does not start) the planner server. */
export function createPlannerServer(options: PlannerServerOptions): Server {
  const { cache, budget } = options;
  const plan = options.plan ?? stubPlan;
  const staleMs = options.staleMs ?? 60_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== "/plan") throw new HttpError(404, "not found");
    if (req.method !== "POST") throw new HttpError(405, "use POST", { Allow: "POST" });
    const agent = req.headers[AGENT_HEADER];
    if (typeof agent !== "string" || agent === "") {
      throw new HttpError(400, "missing X-OKOME-Agent header");
    }

    const admitted = await budget.checkRequest(agent);
    if (!admitted.allowed) {
      throw new HttpError(429, "request budget exhausted", {
        "Retry-After": String(Math.ceil(admitted.retryAfterMs / 1000)),
      });
    }

    const body = parsePlanRequest(await readBody(req, maxBodyBytes));
    const key = keys.planner(body);
    const result = await cache.getOrCompute(key, () => plan(body), {
      ttlMs: ttlMs("planner", options.random),
      staleMs,
      admitWrite: async (k, lifetimeMs) => (await budget.checkWrite(agent, k, lifetimeMs)).allowed,
    });
    send(res, 200, result.value, {
      ...cacheHeaders(result),
      "X-OKOME-Budget-Remaining": String(admitted.remaining),
    });
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError)
        return send(res, err.status, { error: err.message }, err.headers);
      if (err instanceof KeyPartError) return send(res, 400, { error: err.message });
      send(res, 502, { error: "planner failed" });
    });
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parsePlanRequest(text: string): PlanRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
  const fields = ["model", "prompt", "toolset", "repo"] as const;
  const missing = fields.filter(
    (f) => typeof (body as Record<string, unknown> | null)?.[f] !== "string",
  );
  if (missing.length > 0) throw new HttpError(400, `missing string fields: ${missing.join(", ")}`);
  const b = body as Record<(typeof fields)[number], string>;
  return { model: b.model, prompt: b.prompt, toolset: b.toolset, repo: b.repo };
}

async function stubPlan(request: PlanRequest): Promise<unknown> {
  await new Promise((resolve) => setTimeout(resolve, 100)); // stands in for the LLM call
  return {
    model: request.model,
    steps: [`analyse: ${request.prompt}`, `use toolset ${request.toolset}`],
  };
}

/**
 * Runs the example: REDIS_HOST, REDIS_PORT, REDIS_USER and REDIS_PASSWORD (the model cache's
 * orchestrator user: its default user is disabled), HOST (default 127.0.0.1), PORT (default 8080).
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const redis = createRedis({
    host: env.REDIS_HOST,
    port: env.REDIS_PORT === undefined ? undefined : Number(env.REDIS_PORT),
    username: env.REDIS_USER,
    password: env.REDIS_PASSWORD,
  });
  const cache = new OkomeCache({ redis });
  const server = createPlannerServer({ cache, budget: new OkomeBudget({ redis }) });
  const host = env.HOST ?? "127.0.0.1";
  const port = Number(env.PORT ?? 8080);
  // Closing the server (a signal, or the caller) releases Redis too.
  server.once("close", () => void cache.close().then(() => redis.disconnect()));
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  console.log(`planner example on http://${host}:${(server.address() as AddressInfo).port}/plan`);
  const stop = (): void => void server.close();
  process.once("SIGINT", stop).once("SIGTERM", stop);
  return server;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
