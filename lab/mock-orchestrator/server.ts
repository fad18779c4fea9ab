/**
 * Mock OKOME orchestrator for the lab: the upstream the edge caches, at 10.86.0.25:8000.
 *
 * It answers like the real one where the cache tier can tell the difference (status codes,
 * Cache-Control per endpoint, ETag revalidation, a slow planner that counts computations)
 * and can be told to fail or slow down, so failover, stale serving and miss storms can be
 * exercised. Test-only endpoints live under /__mock/ and are never slowed or failed.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** How the mock answers the orchestrator endpoints. */
export type MockMode = "ok" | "fail" | "slow";

export interface MockState {
  readonly mode: MockMode;
  /** Added to every orchestrator response in `slow` mode, in ms. */
  readonly delayMs: number;
  /** Status of every orchestrator response in `fail` mode (500-599). */
  readonly status: number;
}

export interface MockOptions {
  /** Time one /api/plan computation takes, in ms. */
  readonly planDelayMs?: number;
  /** Reported by /version and /health. */
  readonly version?: string;
}

export const MOCK_DEFAULTS = {
  planDelayMs: 300,
  version: "1.8.2",
  slowDelayMs: 2000,
  failStatus: 503,
  requestIdsKept: 200,
} as const;

export interface MockStats {
  readonly requests: Record<string, number>;
  /** X-Request-ID of the latest orchestrator requests that carried one, oldest first. */
  readonly requestIds: readonly string[];
  readonly computes: number;
  readonly state: MockState;
}

export interface MockOrchestrator {
  readonly handler: http.RequestListener;
  stats(): MockStats;
}

const CACHE = {
  assets: "public, max-age=86400",
  uiSchema: "public, max-age=300",
  version: "public, max-age=60",
  dynamic: "private, no-store",
} as const;

const CONTENT_TYPES: Record<string, string> = {
  js: "application/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  html: "text/html; charset=utf-8",
  woff2: "font/woff2",
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Validate a /__mock/control body into the next state; every problem is reported at once. */
export function parseControl(body: Record<string, unknown>, current: MockState): MockState {
  const problems: string[] = [];
  const mode = body.mode;
  if (mode !== "ok" && mode !== "fail" && mode !== "slow") {
    problems.push('mode: must be "ok", "fail" or "slow"');
  }
  const delayMs = body.delayMs ?? (mode === "slow" ? MOCK_DEFAULTS.slowDelayMs : current.delayMs);
  if (typeof delayMs !== "number" || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60000) {
    problems.push("delayMs: must be an integer from 0 to 60000");
  }
  const status = body.status ?? MOCK_DEFAULTS.failStatus;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 500 || status > 599) {
    problems.push("status: must be an integer from 500 to 599");
  }
  if (problems.length > 0) throw new HttpError(400, problems.join("; "));
  return { mode: mode as MockMode, delayMs: delayMs as number, status: status as number };
}

export function createMockOrchestrator(options: MockOptions = {}): MockOrchestrator {
  const planDelayMs = options.planDelayMs ?? MOCK_DEFAULTS.planDelayMs;
  const version = options.version ?? MOCK_DEFAULTS.version;
  const startedAt = Date.now();
  let requests: Record<string, number> = {};
  let requestIds: string[] = [];
  let computes = 0;
  let state: MockState = { mode: "ok", delayMs: 0, status: MOCK_DEFAULTS.failStatus };

  function send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string>,
  ): void {
    const etag = `"${sha(body).slice(0, 16)}"`;
    const cacheable = headers["Cache-Control"]?.startsWith("public");
    const all: Record<string, string> = { "X-Orchestrator": "okome-mock", ...headers };
    // ?maxAge=N shortens a cacheable answer's freshness, so a test sees it expire in seconds.
    const maxAge = new URL(req.url ?? "/", "http://mock.invalid").searchParams.get("maxAge");
    if (cacheable && maxAge !== null && /^\d{1,6}$/.test(maxAge))
      all["Cache-Control"] = `public, max-age=${maxAge}`;
    const requestId = req.headers["x-request-id"];
    if (typeof requestId === "string") all["X-Request-ID"] = requestId;
    if (cacheable && status === 200) {
      all.ETag = etag;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, all).end();
        return;
      }
    }
    all["Content-Length"] = String(Buffer.byteLength(body));
    res.writeHead(status, all);
    res.end(req.method === "HEAD" ? undefined : body);
  }

  function json(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    value: unknown,
    cacheControl: string = CACHE.dynamic,
    extra: Record<string, string> = {},
  ): void {
    send(req, res, status, `${JSON.stringify(value, null, 2)}\n`, {
      "Content-Type": "application/json",
      "Cache-Control": cacheControl,
      ...extra,
    });
  }

  function asset(path: string): { body: string; type: string } {
    const ext = path.includes(".") ? path.slice(path.lastIndexOf(".") + 1) : "";
    const type = CONTENT_TYPES[ext] ?? "application/octet-stream";
    const seed = sha(path);
    // Deterministic per path, a few KB, like a minified bundle.
    const filler = seed.repeat(64);
    const body =
      ext === "css"
        ? `/* okome ui ${path} */\n.okome-${seed.slice(0, 8)}{content:"${filler}"}\n`
        : `/* okome ui ${path} */\n(()=>{const b="${filler}";window.okome=window.okome||{};window.okome["${seed.slice(0, 8)}"]=b.length})();\n`;
    return { body, type };
  }

  function uiSchema(name: string): unknown {
    return {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: `/ui-schema/${name}`,
      title: name.replace(/\.json$/, ""),
      type: "object",
      required: ["model", "prompt"],
      properties: {
        model: { type: "string", enum: ["okome-7b", "okome-13b", "okome-coder"] },
        prompt: { type: "string", maxLength: 8000 },
        toolset: { type: "string", default: "default" },
        temperature: { type: "number", minimum: 0, maximum: 2, default: 0.2 },
      },
    };
  }

  async function plan(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    let input: Record<string, unknown>;
    if (req.method === "POST") {
      input = parseJson(await readBody(req));
    } else if (req.method === "GET" || req.method === "HEAD") {
      input = Object.fromEntries(url.searchParams);
    } else {
      throw new HttpError(405, "use GET or POST");
    }
    const model = typeof input.model === "string" ? input.model : "okome-7b";
    const prompt = typeof input.prompt === "string" ? input.prompt : "";
    const toolset = typeof input.toolset === "string" ? input.toolset : "default";
    await sleep(planDelayMs);
    computes += 1;
    const promptHash = sha(prompt).slice(0, 16);
    // What the okome/ library's planner endpoint adds; the edge passes them through.
    const cacheHeaders = {
      "X-OKOME-Cache": "MISS",
      "X-OKOME-Cache-Key": `okome:planner:${model}:${promptHash}:${toolset}:mock`,
    };
    json(
      req,
      res,
      200,
      {
        planId: sha(`${model}:${promptHash}:${toolset}`).slice(0, 24),
        model,
        promptHash,
        toolset,
        steps: [
          { id: 1, action: "retrieve", target: `rag:${promptHash.slice(0, 8)}` },
          { id: 2, action: "reason", model },
          { id: 3, action: "respond", format: "markdown" },
        ],
        computedAt: new Date().toISOString(),
        computeMs: planDelayMs,
        computeCount: computes,
      },
      CACHE.dynamic,
      cacheHeaders,
    );
  }

  async function orchestrator(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const path = url.pathname;
    if (state.mode === "slow") await sleep(state.delayMs);
    if (state.mode === "fail") {
      json(
        req,
        res,
        state.status,
        { error: "orchestrator unavailable", status: state.status },
        CACHE.dynamic,
        { "Retry-After": "5" },
      );
      return;
    }
    if (path === "/api/plan") return plan(req, res, url);
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "use GET");
    if (path === "/health") {
      json(req, res, 200, {
        status: "ok",
        service: "okome-orchestrator",
        version,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      });
    } else if (path === "/api/models") {
      // The API's one cacheable answer: the models a plan may name.
      json(req, res, 200, { models: ["okome-7b", "okome-13b", "okome-coder"] }, CACHE.version);
    } else if (path === "/session") {
      // A login that a careless orchestrator marks public: the edge must still never cache it.
      const session = sha(`${Date.now()}:${Math.random()}`).slice(0, 24);
      json(req, res, 200, { session }, "public, max-age=60", {
        "Set-Cookie": `okome_session=${session}; Path=/; HttpOnly`,
      });
    } else if (path === "/version") {
      json(req, res, 200, { version, commit: sha(version).slice(0, 12), api: "v1" }, CACHE.version);
    } else if (path.startsWith("/assets/") && path.length > "/assets/".length) {
      const { body, type } = asset(path);
      send(req, res, 200, body, { "Content-Type": type, "Cache-Control": CACHE.assets });
    } else if (path.startsWith("/ui-schema/") && path.length > "/ui-schema/".length) {
      json(req, res, 200, uiSchema(path.slice("/ui-schema/".length)), CACHE.uiSchema);
    } else {
      throw new HttpError(404, `no route for ${path}`);
    }
  }

  async function control(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> {
    if (path === "/__mock/stats" && req.method === "GET") {
      json(req, res, 200, stats());
    } else if (path === "/__mock/control" && req.method === "GET") {
      json(req, res, 200, state);
    } else if (path === "/__mock/control" && req.method === "POST") {
      state = parseControl(parseJson(await readBody(req)), state);
      json(req, res, 200, state);
    } else if (path === "/__mock/reset" && req.method === "POST") {
      requests = {};
      requestIds = [];
      computes = 0;
      json(req, res, 200, stats());
    } else {
      throw new HttpError(404, `no mock route ${req.method} ${path}`);
    }
  }

  function stats(): MockStats {
    return { requests: { ...requests }, requestIds: [...requestIds], computes, state };
  }

  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? "/", "http://mock.invalid");
    const isControl = url.pathname.startsWith("/__mock/");
    if (!isControl) {
      requests[url.pathname] = (requests[url.pathname] ?? 0) + 1;
      const requestId = req.headers["x-request-id"];
      if (typeof requestId === "string")
        requestIds = [...requestIds, requestId].slice(-MOCK_DEFAULTS.requestIdsKept);
    }
    const work = isControl ? control(req, res, url.pathname) : orchestrator(req, res, url);
    work.catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) json(req, res, status, { error: message });
      else res.destroy();
    });
  };

  return { handler, stats };
}

export interface RunningMock {
  readonly server: http.Server;
  readonly mock: MockOrchestrator;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  close(): Promise<void>;
}

/** Listen on host:port (port 0 picks a free one). */
export function startMockOrchestrator(
  host: string,
  port: number,
  options: MockOptions = {},
): Promise<RunningMock> {
  const mock = createMockOrchestrator(options);
  const server = http.createServer(mock.handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        server,
        mock,
        url: `http://${address.address}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
