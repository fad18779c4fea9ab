/**
 * Canary cache policies, per-endpoint TTLs, the cache key version and predictive pre-warm
 * (issue 12), end to end: the real `pulumi` deploys this project on a throw-away stack to both lab
 * hosts, with a short canary TTL on /assets/ and a top list of three. Clients are this machine
 * (10.86.0.1, rate-limit exempt); the mock orchestrator counts what reaches it. Needs
 * `npm run lab:up`; without the lab every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { LabHost, requireLabHost } from "../support/lab";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { Answer, get, mock, sh, sleep, unique, upstreamCount, waitForState } from "./edgeLab";

/** /assets/ answers are fresh for an hour under control and for CANARY_TTL s under canary. */
const CONTROL_TTL = 3600;
const CANARY_TTL = 4;
const PREWARM_TOP = 3;
const ACCESS_LOG = "/var/log/nginx/okome-access.log";
const CACHE_DIR = "/var/cache/nginx/okome";
const PREWARM_LIST = "/var/lib/okome-prewarm/top-urls.txt";
const PREWARM_METRICS = "/run/okome/textfile/okome_prewarm.prom";
const POLICY = "X-OKOME-Cache-Policy";

describe("Cache policies and pre-warm on the lab (real pulumi)", function () {
  this.timeout(900_000);
  let edge: LabHost;
  let model: LabHost;
  let stack: PulumiStack;
  const url = (host: LabHost, p: string) => `http://${host.address}${p}`;
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const cacheStatus = (a: Answer) =>
    `${a.headers.get("x-okome-policy")} ${a.headers.get("x-cache-status")}`;
  const asPolicy = (host: LabHost, p: string, policy: string) =>
    get(url(host, p), { [POLICY]: policy });
  /** The metric's value in the last pre-warm run's textfile on `host`. */
  const prewarmMetric = (host: LabHost, name: string) => {
    const line = sh(host, `grep '^okome_prewarm_${name}{' ${PREWARM_METRICS}`);
    return Number(line.split(" ").pop());
  };
  const runPrewarm = (host: LabHost) => sh(host, "sudo -n systemctl start okome-prewarm.service");
  const emptyCache = (host: LabHost) => sh(host, `sudo -n find ${CACHE_DIR} -type f -delete`);
  const nginxPid = (host: LabHost) => sh(host, "systemctl show -p MainPID --value nginx");
  /** Runs `test` with the pre-warm timers stopped: only the test's own runs may warm. */
  const withoutTimers = async (test: () => Promise<void>) => {
    for (const host of [edge, model]) sh(host, "sudo -n systemctl stop okome-prewarm.timer");
    try {
      await test();
    } finally {
      for (const host of [edge, model]) sh(host, "sudo -n systemctl start okome-prewarm.timer");
    }
  };

  before(async () => {
    edge = await requireLabHost("okome-edge");
    model = await requireLabHost("okome-model");
    await mock("/__mock/control", { mode: "ok" });
    stack = await PulumiStack.create({
      prefix: "policy",
      passphrase: "okome-edge-policies-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
    const ttls = { assets: { control: CONTROL_TTL, canary: CANARY_TTL } };
    ok(await stack.run(["config", "set", "edgeCacheTtls", JSON.stringify(ttls)]));
    ok(await stack.run(["config", "set", "prewarmTop", String(PREWARM_TOP)]));
  });
  after(async () => {
    await mock("/__mock/control", { mode: "ok" }).catch(() => undefined);
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
  });

  it("up deploys both edges with the policies and the pre-warm timer", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    for (const host of [edge, model])
      assert.equal(sh(host, "systemctl is-active okome-prewarm.timer"), "active", host.name);
  });

  // First: the top list ranks the access log, which the later tests fill.
  it("after the cache is emptied, one pre-warm run makes the top URLs HITs on the primary and the standby; pre-warm's own traffic does not count", () =>
    withoutTimers(async () => {
      for (const host of [edge, model]) sh(host, `sudo -n truncate -s 0 ${ACCESS_LOG}`);
      const urls = [4, 3, 2, 1].map((times, i) => ({
        path: `/assets/${unique(`top${i}`)}.js`,
        times,
      }));
      for (const { path: p, times } of urls)
        for (let i = 0; i < times; i++) assert.equal((await get(url(edge, p))).status, 200);
      // Requests that say they are pre-warm's: the most requested URL, were they counted.
      const ownTraffic = `/assets/${unique("prewarm-own")}.js`;
      for (let i = 0; i < 6; i++)
        await get(url(edge, ownTraffic), { "User-Agent": "okome-prewarm" });
      const top = urls.slice(0, PREWARM_TOP).map((u) => u.path);

      for (const host of [edge, model]) emptyCache(host);
      assert.equal(cacheStatus(await get(url(edge, urls[3].path))), "control MISS", "emptied");
      const fetchedBefore = await Promise.all(top.map(upstreamCount));
      runPrewarm(edge);
      assert.deepEqual(sh(edge, `cat ${PREWARM_LIST}`).split("\n"), top, "the primary's list");
      assert.equal(prewarmMetric(edge, "urls_warmed"), PREWARM_TOP);
      assert.equal(prewarmMetric(edge, "failures"), 0);
      assert.deepEqual(
        await Promise.all(top.map(upstreamCount)),
        fetchedBefore.map((n) => n + 1),
        "each top URL fetched once by the warm run",
      );
      runPrewarm(model);
      assert.deepEqual(
        sh(model, `cat ${PREWARM_LIST}`).split("\n"),
        top,
        "the standby warms the primary's list",
      );
      assert.equal(prewarmMetric(model, "urls_warmed"), PREWARM_TOP);
      for (const host of [edge, model])
        for (const p of top)
          assert.equal(cacheStatus(await get(url(host, p))), "control HIT", `${host.name} ${p}`);
      // The fourth was not in the top three: nobody warmed it.
      assert.equal(cacheStatus(await get(url(model, urls[3].path))), "control MISS");
    }));

  it("pre-warm does nothing while the upstream is down", () =>
    withoutTimers(async () => {
      const p = `/assets/${unique("down")}.js`;
      await get(url(edge, p));
      await mock("/__mock/control", { mode: "fail" });
      try {
        await waitForState([edge, model], "DOWN");
        emptyCache(edge);
        const since = sh(edge, `sudo -n cat ${ACCESS_LOG} | wc -l`);
        runPrewarm(edge);
        assert.equal(prewarmMetric(edge, "upstream_down"), 1);
        assert.equal(prewarmMetric(edge, "urls_warmed"), 0);
        const requests = sh(
          edge,
          `sudo -n tail -n +${Number(since) + 1} ${ACCESS_LOG} | grep -c '"user_agent":"okome-prewarm"' || true`,
        );
        assert.equal(requests, "0", "no request made while DOWN");
        assert.match(
          sh(edge, "sudo -n journalctl -u okome-prewarm -n 5 -o cat --no-pager"),
          /upstream DOWN: nothing warmed/,
        );
      } finally {
        await mock("/__mock/control", { mode: "ok" });
        // The next tests need the orchestrator back, whatever failed here.
        await waitForState([edge, model], "UP");
      }
    }));

  it("canary and control hold different entries for one URL, and their TTLs differ as configured", async () => {
    for (const host of [edge, model]) {
      const p = `/assets/${unique("policy")}.js`;
      const seen: string[] = [];
      for (const policy of ["control", "control", "canary"])
        seen.push(cacheStatus(await asPolicy(host, p, policy)));
      // The cookie asks for the canary too, and gets the canary's entry.
      seen.push(cacheStatus(await get(url(host, p), { Cookie: "okome_cache=canary" })));
      assert.deepEqual(
        seen,
        ["control MISS", "control HIT", "canary MISS", "canary HIT"],
        host.name,
      );
      assert.equal(await upstreamCount(p), 2, `${host.name}: one fetch per policy`);
      await sleep((CANARY_TTL + 1) * 1000);
      // Expired: served stale while one background request refreshes it.
      assert.equal(cacheStatus(await asPolicy(host, p, "canary")), "canary STALE", host.name);
      assert.equal(cacheStatus(await asPolicy(host, p, "control")), "control HIT", host.name);
      await sleep(1000);
      assert.equal(await upstreamCount(p), 3, `${host.name}: the canary's refresh only`);
    }
  });

  it("debug bypasses the cache and shows control's key; it stores nothing", async () => {
    const p = `/assets/${unique("debug")}.js?v=1`;
    await asPolicy(edge, p, "control");
    for (let i = 0; i < 2; i++) {
      const res = await asPolicy(edge, p, "debug");
      assert.equal(cacheStatus(res), "debug BYPASS");
      assert.equal(res.headers.get("x-okome-debug-cache-key"), `v1:control:http${p}`);
    }
    assert.equal(await upstreamCount(p.split("?")[0]), 3, "both debug requests reached upstream");
    const control = await asPolicy(edge, p, "control");
    assert.equal(cacheStatus(control), "control HIT");
    assert.equal(
      control.headers.get("x-okome-debug-cache-key"),
      null,
      "the key shows on debug only",
    );
  });

  it("a bogus policy behaves as control, even beside a canary cookie", async () => {
    const p = `/assets/${unique("bogus")}.js`;
    await asPolicy(edge, p, "control");
    const asked: Array<Record<string, string>> = [
      { [POLICY]: "bogus" },
      { [POLICY]: "canary-2" },
      { [POLICY]: "bogus", Cookie: "okome_cache=canary" },
      { Cookie: "okome_cache=bogus" },
    ];
    for (const headers of asked)
      assert.equal(
        cacheStatus(await get(url(edge, p), headers)),
        "control HIT",
        JSON.stringify(headers),
      );
    assert.equal(await upstreamCount(p), 1);
  });

  it("bumping a key version makes every URL miss once, then hit, with a reload and no restart", async () => {
    const paths = [1, 2, 3].map((i) => `/assets/${unique(`version${i}`)}.js`);
    for (const p of paths)
      for (const policy of ["control", "canary"]) await asPolicy(edge, p, policy);
    const pid = nginxPid(edge);
    const statuses = async (policy: string) => {
      const seen: string[] = [];
      for (const p of paths) seen.push(cacheStatus(await asPolicy(edge, p, policy)));
      return seen;
    };
    const all = (status: string, policy: string) => paths.map(() => `${policy} ${status}`);

    ok(await stack.run(["config", "set", "canaryKeyVersion", "2"]));
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.deepEqual(await statuses("control"), all("HIT", "control"), "control keeps its entries");
    assert.deepEqual(await statuses("canary"), all("MISS", "canary"));
    assert.deepEqual(await statuses("canary"), all("HIT", "canary"));

    ok(await stack.run(["config", "set", "cacheKeyVersion", "2"]));
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    for (const policy of ["control", "canary"]) {
      assert.deepEqual(await statuses(policy), all("MISS", policy));
      assert.deepEqual(await statuses(policy), all("HIT", policy));
    }
    assert.equal(nginxPid(edge), pid, "nginx was reloaded, not restarted");
    const debug = await asPolicy(edge, paths[0], "debug");
    assert.equal(debug.headers.get("x-okome-debug-cache-key"), `v2:control:http${paths[0]}`);
  });
});
