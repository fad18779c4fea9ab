/**
 * EdgeCacheNode end to end (issue 11): the real `pulumi` binary deploys this project on a
 * throw-away stack (temp backend, lab settings) to both lab hosts: the edge on okome-edge and the
 * standby edge on okome-model. Clients are this machine (10.86.0.1, in the stack's
 * rateLimitExempt) and lab netns clients that are not exempt. The mock orchestrator counts the
 * requests that reach it and is told to fail. Needs `npm run lab:up`; without the lab every test
 * fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import Redis from "ioredis";
import { LabHost, requireLabHost } from "../support/lab";
import { LabClientNetns } from "../support/netns";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { HEALTH_STATE, get, mock, sh, sleep, unique, upstreamCount, waitForState } from "./edgeLab";

/**
 * The lab bridge is one /24, so this stack narrows its LAN to the lower half: the client at .200
 * stands for a machine outside the LAN, on a network the edge still routes to.
 */
const LAN_CIDR = "10.86.0.0/25";
const OUTSIDER_ADDRESS = "10.86.0.200";
/** LAN clients that are not rate-limit exempt. */
const CLIENT_ADDRESS = "10.86.0.62";
const BUSY_CLIENT_ADDRESS = "10.86.0.63";
/**
 * A site of Debian's nginx on the maintenance server's port, on every address: the reload onto
 * okome's config cannot bind 127.0.0.1 there while the old config holds it (as a test fixture's
 * leftover did on the qemu lab), so the deploy must restart nginx instead.
 */
const SQUATTER = "/etc/nginx/sites-enabled/okome-edge-test-squatter";

describe("EdgeCacheNode on the lab (real pulumi)", function () {
  this.timeout(900_000);
  let edge: LabHost;
  let model: LabHost;
  let stack: PulumiStack;
  let client: LabClientNetns;
  const url = (host: LabHost, p: string) => `http://${host.address}${p}`;

  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  /**
   * The host's clock now, in seconds: this machine's clock plus the offset measured over one ssh
   * round trip (the same clock under nspawn; a VM's may differ). An ssh call per reading would
   * put the reading up to a second before the moment it stands for.
   */
  const hostClock = (host: LabHost) => {
    const before = Date.now();
    const there = Number(sh(host, "date +%s.%N"));
    const offset = there - (before + Date.now()) / 2000;
    return () => Date.now() / 1000 + offset;
  };
  const waitForEdges = (state: "UP" | "DOWN") => waitForState([edge, model], state);
  /**
   * The seconds a flip may take after `from`: two probes 5 s apart, plus 5 s for each probe run
   * systemd failed to start meanwhile (under nspawn it sometimes cannot attach a unit to the
   * container's cgroup: exit status 219/CGROUP, the probe never ran). The probe's hysteresis is
   * what is under test; a run that never happened is the lab's, and is counted, not hidden.
   */
  const flipAllowance = (host: LabHost, from: number, to: number) =>
    10 +
    5 *
      Number(
        sh(
          host,
          `sudo -n journalctl -u okome-health-probe --since @${Math.floor(from)} --until @${Math.ceil(to)} -o cat --no-pager | grep -c 'status=219/CGROUP' || true`,
        ),
      );
  const reloadsSince = (host: LabHost, since: number) =>
    Number(
      sh(
        host,
        `sudo -n journalctl -u nginx --since @${Math.floor(since)} -o cat --no-pager | grep -c '^Reloaded' || true`,
      ),
    );
  /** `curl` in a lab netns client: one line `<status> <retry-after>` per URL, over one connection. */
  const curlFrom = (netns: LabClientNetns, urls: string[]) => {
    // curl's -o applies to one URL: each gets its own, so no body lands among the lines.
    const argv = netns.wrap([
      "curl",
      "-s",
      "-w",
      "%{http_code} %header{retry-after}\\n",
      ...urls.flatMap((u) => ["-o", "/dev/null", u]),
    ]);
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 60_000 });
    return r.stdout.trim().split("\n");
  };

  before(async () => {
    edge = await requireLabHost("okome-edge");
    model = await requireLabHost("okome-model");
    await mock("/__mock/control", { mode: "ok" });
    stack = await PulumiStack.create({
      prefix: "edge",
      passphrase: "okome-edge-cache-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
    ok(await stack.run(["config", "set", "lanCidr", LAN_CIDR]));
    client = new LabClientNetns("okome-edge", CLIENT_ADDRESS);
    sh(
      edge,
      `printf 'server { listen 8089; return 200 "squatter\\n"; }\n' | sudo -n tee ${SQUATTER} >/dev/null && sudo -n systemctl reload nginx`,
    );
  });
  after(async () => {
    client?.remove();
    if (edge) sh(edge, `sudo -n rm -f ${SQUATTER}`);
    await mock("/__mock/control", { mode: "ok" }).catch(() => undefined);
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
  });

  it("up deploys the edge and the standby edge, restarting nginx where a reload cannot bind", async () => {
    assert.equal(
      sh(edge, "curl -s http://127.0.0.1:8089/"),
      "squatter",
      "the edge must run Debian's nginx config first: destroy the stack deployed there (pulumi destroy -s lab)",
    );
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    const maintenance = sh(edge, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8089/");
    assert.equal(maintenance, "503", "okome's maintenance server holds the port");
  });

  it("keeps okome:health:<node> in the model cache with a TTL of at most 30 s", async () => {
    const o = await stack.outputs();
    const redis = new Redis({
      host: String(o.modelCacheAddress),
      port: Number(o.modelCachePort),
      username: String(o.modelCacheUser),
      password: String(o.modelCachePassword),
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      for (const node of [edge.name, model.name]) {
        const key = `okome:health:${node}`;
        const ttl = await redis.pttl(key);
        assert.ok(ttl > 0 && ttl <= 30_000, `${key}: PTTL ${ttl}`);
        const value = JSON.parse((await redis.get(key)) ?? "{}") as Record<string, unknown>;
        assert.equal(value.node, node);
        assert.equal(value.upstream, "up");
      }
    } finally {
      redis.disconnect();
    }
  });

  it("answers a second GET from the cache with all four headers; the request id reaches the orchestrator", async () => {
    for (const host of [edge, model]) {
      const asset = `/assets/${unique("hit")}.js`;
      const id = unique("okome-edge-test");
      const first = await get(url(host, asset), { "X-Request-ID": id });
      assert.equal(first.headers.get("x-cache-status"), "MISS");
      assert.equal(first.headers.get("x-request-id"), id);
      assert.ok((await mock("/__mock/stats")).requestIds.includes(id), "the id arrived upstream");
      const second = await get(url(host, asset));
      assert.equal(second.status, 200);
      assert.equal(second.body, first.body);
      assert.equal(second.headers.get("x-cache-status"), "HIT");
      assert.equal(second.headers.get("x-okome-node"), host.name);
      assert.equal(second.headers.get("x-upstream"), "cache");
      assert.match(second.headers.get("x-request-id") ?? "", /^[0-9a-f]{32}$/, "nginx's own id");
      assert.equal(await upstreamCount(asset), 1);
    }
    const plan = await get(url(edge, "/api/plan?prompt=headers"));
    assert.equal(plan.headers.get("x-okome-cache"), "MISS", "the orchestrator's header passes");
    assert.match(plan.headers.get("x-okome-cache-key") ?? "", /^okome:planner:/);
    assert.equal(plan.headers.get("x-upstream"), "10.86.0.25:8000");
  });

  it("makes 1 upstream request for 100 concurrent misses on one URL (cache lock)", async () => {
    // A slow orchestrator: every miss is still in flight when the others arrive.
    await mock("/__mock/control", { mode: "slow", delayMs: 1500 });
    try {
      const asset = `/assets/${unique("lock")}.js`;
      const answers = await Promise.all(Array.from({ length: 100 }, () => get(url(edge, asset))));
      assert.deepEqual(
        [...new Set(answers.map((a) => a.status))],
        [200],
        "every client got the asset",
      );
      assert.equal(await upstreamCount(asset), 1);
    } finally {
      await mock("/__mock/control", { mode: "ok" });
    }
  });

  it("never caches a response that sets a cookie, a request with Authorization, or a POST", async () => {
    for (let i = 0; i < 2; i++) {
      const session = await get(url(edge, "/session"));
      assert.match(session.headers.get("set-cookie") ?? "", /^okome_session=/);
      assert.equal(session.headers.get("x-cache-status"), "MISS");
    }
    const asset = `/assets/${unique("private")}.js`;
    for (let i = 0; i < 2; i++) {
      const r = await get(url(edge, asset), { Authorization: "Bearer okome-test" });
      assert.equal(r.headers.get("x-cache-status"), "BYPASS");
    }
    assert.equal(await upstreamCount(asset), 2);
    const before = (await mock("/__mock/stats")).computes;
    for (let i = 0; i < 2; i++) {
      const r = await fetch(url(edge, "/api/plan"), {
        method: "POST",
        body: JSON.stringify({ prompt: "same" }),
        headers: { "Content-Type": "application/json" },
      });
      assert.equal(r.status, 200);
    }
    assert.equal((await mock("/__mock/stats")).computes - before, 2);
  });

  it("while the orchestrator is down: stale for cached pages, an immediate maintenance page for the rest; the state flips within 10 s each way, one reload per flip", async () => {
    const stale = `/ui-schema/${unique("stale")}.json?maxAge=1`;
    for (const host of [edge, model]) await get(url(host, stale));
    await sleep(1500);

    const clocks = [edge, model].map(hostClock);
    const failedAt = clocks.map((now) => now());
    let recoveredAt: number[] = [];
    await mock("/__mock/control", { mode: "fail" });
    try {
      const downAt = await waitForEdges("DOWN");
      downAt.forEach((flip, i) => {
        const allowed = flipAllowance([edge, model][i], failedAt[i], flip);
        const took = flip - failedAt[i];
        assert.ok(took <= allowed, `DOWN after ${took.toFixed(1)} s, allowed ${allowed} s`);
      });
      for (const host of [edge, model]) {
        const cached = await get(url(host, stale));
        assert.equal(cached.status, 200, host.name);
        assert.equal(cached.headers.get("x-cache-status"), "STALE", host.name);
        const uncached = await get(url(host, `/assets/${unique("uncached")}.js`));
        assert.equal(uncached.status, 503, host.name);
        assert.ok(uncached.ms < 1000, `${host.name}: the maintenance page took ${uncached.ms} ms`);
        assert.equal(uncached.headers.get("retry-after"), "30");
        assert.equal(uncached.headers.get("x-upstream"), "maintenance");
        assert.match(uncached.body, /OKOME is under maintenance/);
      }
      // Stays DOWN without another reload while the orchestrator stays down.
      await sleep(6000);
      [edge, model].forEach((host, i) =>
        assert.equal(reloadsSince(host, failedAt[i]), 1, host.name),
      );
    } finally {
      recoveredAt = clocks.map((now) => now());
      await mock("/__mock/control", { mode: "ok" });
    }
    const upAt = await waitForEdges("UP");
    upAt.forEach((flip, i) => {
      const allowed = flipAllowance([edge, model][i], recoveredAt[i], flip);
      const took = flip - recoveredAt[i];
      assert.ok(
        took <= allowed,
        `UP after ${(flip - recoveredAt[i]).toFixed(1)} s, allowed ${allowed} s`,
      );
    });
    [edge, model].forEach((host, i) => assert.equal(reloadsSince(host, failedAt[i]), 2, host.name));
    const fresh = await get(url(edge, `/assets/${unique("after")}.js`));
    assert.equal(fresh.status, 200);
  });

  it("answers 429 with Retry-After above 20 r/s on the UI and 5 r/s on the API, per client", async () => {
    const ui = curlFrom(client, Array(60).fill(url(edge, "/version")));
    const uiOk = ui.filter((line) => line.startsWith("200")).length;
    assert.ok(uiOk >= 41 && uiOk <= 45, `UI: ${uiOk} of 60 passed (burst 40 + 20 r/s)`);
    assert.ok(ui.includes("429 1"), ui.join(", "));
    const api = curlFrom(client, Array(30).fill(url(edge, "/api/models")));
    const apiOk = api.filter((line) => line.startsWith("200")).length;
    assert.ok(apiOk >= 11 && apiOk <= 13, `API: ${apiOk} of 30 passed (burst 10 + 5 r/s)`);
    assert.ok(api.includes("429 1"), api.join(", "));
    // This machine is exempt (rateLimitExempt): the same burst passes.
    const exempt = await Promise.all(Array.from({ length: 60 }, () => get(url(edge, "/version"))));
    assert.deepEqual([...new Set(exempt.map((a) => a.status))], [200]);
  });

  it("refuses a client's connections above 32 at once with 429", async () => {
    // A slow orchestrator keeps 40 misses open at once: within the UI burst, over the connections.
    // A client of its own: the rate-limit test left the first one's burst spent.
    const busy = new LabClientNetns("okome-edge-conn", BUSY_CLIENT_ADDRESS);
    await mock("/__mock/control", { mode: "slow", delayMs: 1500 });
    try {
      const prefix = url(edge, `/assets/${unique("conn")}`);
      const argv = busy.wrap([
        "sh",
        "-c",
        `seq 40 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\\n' ${prefix}-{}.js`,
      ]);
      const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 60_000 });
      const codes = r.stdout.trim().split("\n");
      assert.equal(codes.filter((c) => c === "200").length, 32, codes.join(" "));
      assert.equal(codes.filter((c) => c === "429").length, 8, codes.join(" "));
      assert.match(
        sh(edge, "sudo -n tail -n 50 /var/log/nginx/error.log"),
        /limiting connections by zone "okome_conn"/,
      );
    } finally {
      busy.remove();
      await mock("/__mock/control", { mode: "ok" });
    }
  });

  it("opens the status page and the pre-warm list to the LAN and refuses a client outside it", async () => {
    const inside = await get(`http://${edge.address}:8080/stub_status`);
    assert.equal(inside.status, 200);
    assert.match(inside.body, /^Active connections: \d+/);
    const list = url(edge, "/__okome/prewarm-urls");
    assert.equal((await get(list)).status, 200);
    const outsider = new LabClientNetns("okome-edge-out", OUTSIDER_ADDRESS);
    try {
      const lines = curlFrom(outsider, [`http://${edge.address}:8080/stub_status`, list]);
      assert.deepEqual(
        lines.map((line) => line.split(" ")[0]),
        ["403", "403"],
      );
      // The outsider still gets the edge itself: only the status page is LAN-only.
      const [page] = curlFrom(outsider, [url(edge, "/version")]);
      assert.equal(page.split(" ")[0], "200");
    } finally {
      outsider.remove();
    }
  });

  it("refuses an orchestrator nginx cannot resolve, and changes nothing on either edge", async () => {
    const files = `${HEALTH_STATE} /etc/nginx/okome/upstreams.conf /etc/okome/edge-health.env`;
    const before = [edge, model].map((host) => sh(host, `sudo -n sha256sum ${files}`));
    ok(await stack.run(["config", "set", "orchestrator", "okome-orchestrator.invalid:8000"]));
    try {
      const r = await stack.run(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, /host not found in upstream "okome-orchestrator\.invalid:8000"/);
      assert.match(r.output, /The previous config was restored/);
      assert.deepEqual(
        [edge, model].map((host) => sh(host, `sudo -n sha256sum ${files}`)),
        before,
      );
      assert.equal((await get(url(edge, "/version"))).status, 200);
    } finally {
      ok(await stack.run(["config", "set", "orchestrator", "10.86.0.25:8000"]));
    }
    ok(await stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
  });

  it("validates with the validation suite's edge checks", async () => {
    const r = await stack.validate("edge");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^28 passed, 0 failed$/m);
  });
});
