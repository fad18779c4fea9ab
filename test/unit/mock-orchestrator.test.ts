import { strict as assert } from "node:assert";
import {
  MOCK_DEFAULTS,
  parseControl,
  startMockOrchestrator,
  type RunningMock,
} from "../../lab/mock-orchestrator/server";

// In-process, on loopback with an ephemeral port: no lab needed.
describe("mock orchestrator", () => {
  let mock: RunningMock;

  beforeEach(async () => {
    mock = await startMockOrchestrator("127.0.0.1", 0, { planDelayMs: 50 });
  });
  afterEach(() => mock.close());

  const get = (path: string, init?: RequestInit) => fetch(`${mock.url}${path}`, init);
  const post = (path: string, body: unknown) =>
    get(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });

  it("answers /health with ok and no-store", async () => {
    const res = await get("/health");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "private, no-store");
    const body = (await res.json()) as { status: string; version: string };
    assert.equal(body.status, "ok");
    assert.equal(body.version, MOCK_DEFAULTS.version);
  });

  it("serves each endpoint with the Cache-Control a real orchestrator sends", async () => {
    const cases: Array<[string, string, string]> = [
      ["/assets/app.3f2a.js", "public, max-age=86400", "application/javascript; charset=utf-8"],
      ["/assets/site.css", "public, max-age=86400", "text/css; charset=utf-8"],
      ["/ui-schema/planner.json", "public, max-age=300", "application/json"],
      ["/version", "public, max-age=60", "application/json"],
      ["/api/models", "public, max-age=60", "application/json"],
      ["/api/plan?model=okome-7b&prompt=hi", "private, no-store", "application/json"],
    ];
    for (const [path, cacheControl, type] of cases) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("cache-control"), cacheControl, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.ok((await res.text()).length > 50, `${path} has a realistic body`);
    }
  });

  it("serves the same asset bytes every time and revalidates by ETag", async () => {
    const first = await get("/assets/app.js");
    const body = await first.text();
    const etag = first.headers.get("etag");
    assert.ok(etag);
    assert.equal(await (await get("/assets/app.js")).text(), body);
    const revalidated = await get("/assets/app.js", { headers: { "If-None-Match": etag } });
    assert.equal(revalidated.status, 304);
  });

  it("echoes X-Request-ID and keeps the latest ones in its stats", async () => {
    const res = await get("/version", { headers: { "X-Request-ID": "req-42" } });
    assert.equal(res.headers.get("x-request-id"), "req-42");
    await get("/health", { headers: { "X-Request-ID": "req-43" } });
    await get("/__mock/stats", { headers: { "X-Request-ID": "not-counted" } });
    const stats = (await (await get("/__mock/stats")).json()) as { requestIds: string[] };
    assert.deepEqual(stats.requestIds, ["req-42", "req-43"]);
  });

  it("shortens a cacheable answer's freshness on ?maxAge=N, never a private one's", async () => {
    const asset = await get("/assets/app.js?maxAge=2");
    assert.equal(asset.headers.get("cache-control"), "public, max-age=2");
    const plan = await get("/api/plan?prompt=hi&maxAge=2");
    assert.equal(plan.headers.get("cache-control"), "private, no-store");
  });

  it("sets a session cookie on a response it marks public (what the edge must never cache)", async () => {
    const res = await get("/session");
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    assert.match(res.headers.get("set-cookie") ?? "", /^okome_session=[0-9a-f]{24}; /);
  });

  it("names its planner cache key in X-OKOME-Cache headers", async () => {
    const res = await get("/api/plan?model=okome-7b&prompt=hi");
    assert.equal(res.headers.get("x-okome-cache"), "MISS");
    assert.match(
      res.headers.get("x-okome-cache-key") ?? "",
      /^okome:planner:okome-7b:[0-9a-f]{16}:default:mock$/,
    );
  });

  it("computes a plan slowly for POST and GET and counts computations", async () => {
    const started = Date.now();
    const res = await post("/api/plan", {
      model: "okome-13b",
      prompt: "summarise",
      toolset: "rag",
    });
    assert.ok(Date.now() - started >= 45, "the plan takes its compute time");
    assert.equal(res.status, 200);
    const plan = (await res.json()) as { model: string; toolset: string; steps: unknown[] };
    assert.equal(plan.model, "okome-13b");
    assert.equal(plan.toolset, "rag");
    assert.equal(plan.steps.length, 3);
    await get("/api/plan?model=okome-7b&prompt=x");
    const stats = mock.mock.stats();
    assert.equal(stats.computes, 2);
    assert.equal(stats.requests["/api/plan"], 2);
  });

  it("rejects a malformed plan body with 400 without computing", async () => {
    const res = await get("/api/plan", { method: "POST", body: "{not json" });
    assert.equal(res.status, 400);
    assert.equal(mock.mock.stats().computes, 0);
  });

  it("answers 404 for unknown paths and 405 for wrong methods", async () => {
    assert.equal((await get("/nope")).status, 404);
    assert.equal((await get("/assets/")).status, 404);
    assert.equal((await post("/version", {})).status, 405);
    assert.equal((await get("/api/plan", { method: "DELETE" })).status, 405);
  });

  it("fails on command with the requested status, then recovers", async () => {
    let res = await post("/__mock/control", { mode: "fail" });
    assert.equal(res.status, 200);
    res = await get("/health");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "5");
    assert.equal((await get("/assets/a.js")).status, 503);

    await post("/__mock/control", { mode: "fail", status: 500 });
    assert.equal((await get("/version")).status, 500);

    await post("/__mock/control", { mode: "ok" });
    assert.equal((await get("/health")).status, 200);
  });

  it("slows every orchestrator response in slow mode but not the control endpoints", async () => {
    await post("/__mock/control", { mode: "slow", delayMs: 200 });
    let started = Date.now();
    assert.equal((await get("/health")).status, 200);
    assert.ok(Date.now() - started >= 190, "slow mode delays /health");
    started = Date.now();
    await get("/__mock/stats");
    assert.ok(Date.now() - started < 150, "control endpoints stay fast");
  });

  it("counts requests per path and zeroes them on reset", async () => {
    await get("/health");
    await get("/health");
    await get("/version?x=1");
    const stats = (await (await get("/__mock/stats")).json()) as {
      requests: Record<string, number>;
    };
    assert.deepEqual(stats.requests, { "/health": 2, "/version": 1 });
    const reset = (await (await post("/__mock/reset", {})).json()) as {
      requests: Record<string, number>;
      computes: number;
    };
    assert.deepEqual(reset.requests, {});
    assert.equal(reset.computes, 0);
  });

  it("rejects an invalid control body and names every bad field", async () => {
    const res = await post("/__mock/control", { mode: "broken", delayMs: -1, status: 200 });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /mode/);
    assert.match(body.error, /delayMs/);
    assert.match(body.error, /status/);
    assert.equal(mock.mock.stats().state.mode, "ok", "state unchanged");
  });

  it("parseControl defaults the slow delay and the fail status", () => {
    const current = { mode: "ok" as const, delayMs: 0, status: 503 };
    assert.equal(parseControl({ mode: "slow" }, current).delayMs, MOCK_DEFAULTS.slowDelayMs);
    assert.equal(parseControl({ mode: "fail" }, current).status, MOCK_DEFAULTS.failStatus);
  });
});
