import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { HEALTH_RULES } from "../../components/modelCache";
import { freePort } from "../support/ports";
import { RedisServer } from "../support/redis-server";
import { runScript } from "../support/runScript";

// okome-validate against a fake tier on loopback: the VIP, the edge and the model node are
// 127.0.0.18, .20 and .19 (all loopback on Linux), each with the edge's port and the exporters'
// ports served by one node http handler; Redis is a real redis-server on 127.0.0.1 with the
// hosts' ACL shape (default off, a monitor that reads no keys, the health probes' user with its
// real rules, and a user the test writes its fixtures with).
const VALIDATE = path.join(__dirname, "..", "..", "assets", "scripts", "okome-validate.sh");
const EDGE = { node: "okome-edge", address: "127.0.0.20" };
const MODEL = { node: "okome-model", address: "127.0.0.19" };
const VIP = "127.0.0.18";
const CACHEABLE = "/version";

/** What the fake tier answers; each test breaks what it needs to. */
interface Tier {
  holder: string;
  vipState: Record<string, number>;
  upstreamUp: Record<string, number>;
  /** X-Cache-Status of a cacheable GET after the first. */
  second: Record<string, string>;
  nginxUp: Record<string, boolean>;
  nodeExporterUp: Record<string, boolean>;
}
const healthy = (): Tier => ({
  holder: EDGE.node,
  vipState: { [EDGE.node]: 1, [MODEL.node]: 0 },
  upstreamUp: { [EDGE.node]: 1, [MODEL.node]: 1 },
  second: { [EDGE.node]: "HIT", [MODEL.node]: "HIT" },
  nginxUp: { [EDGE.node]: true, [MODEL.node]: true },
  nodeExporterUp: { [EDGE.node]: true, [MODEL.node]: true },
});

describe("okome-validate", function () {
  this.timeout(30_000);
  let dir: string;
  let redis: RedisServer;
  let tier: Tier;
  const servers: http.Server[] = [];
  const ports = { edge: 0, node: 0, nginx: 0, redis: 0 };
  const seen: Record<string, number> = {};

  const nodeAt = (address: string) => (address === EDGE.address ? EDGE.node : MODEL.node);
  const handler: http.RequestListener = (req, res) => {
    const address = req.socket.localAddress ?? "";
    const port = req.socket.localPort;
    const node = address === VIP ? tier.holder : nodeAt(address);
    if (port === ports.edge) {
      const count = (seen[`${node} ${req.url}`] = (seen[`${node} ${req.url}`] ?? 0) + 1);
      const status = req.url === CACHEABLE && count > 1 ? tier.second[node] : "MISS";
      res.writeHead(200, {
        "X-Cache-Status": status,
        "X-OKOME-Node": node,
        "X-Upstream": "orchestrator",
        "X-Request-ID": `r${count}`,
      });
      res.end("ok");
    } else if (port === ports.node && !tier.nodeExporterUp[node]) {
      res.writeHead(503).end();
    } else if (port === ports.node) {
      res.end(
        `node_exporter_build_info{version="1.5.0"} 1\n` +
          `okome_vip_state{node="${node}",vrrp_instance="okome_vip"} ${tier.vipState[node]}\n` +
          `okome_health_upstream_up{node="${node}"} ${tier.upstreamUp[node]}\n`,
      );
    } else if (port === ports.nginx) {
      res.end(tier.nginxUp[node] ? "nginx_up 1\n" : "nginx_up 0\n");
    } else if (port === ports.redis && address === "127.0.0.1") {
      res.end("redis_up 1\n");
    } else {
      res.writeHead(404).end();
    }
  };
  const listen = (address: string, port: number) =>
    new Promise<void>((resolve, reject) => {
      const server = http.createServer(handler);
      server.once("error", reject);
      server.listen(port, address, () => resolve());
      servers.push(server);
    });

  const settings = () => ({
    OKOME_VIP: VIP,
    OKOME_EDGE_NODE: EDGE.node,
    OKOME_EDGE_ADDRESS: EDGE.address,
    OKOME_MODEL_NODE: MODEL.node,
    OKOME_MODEL_ADDRESS: MODEL.address,
    OKOME_EDGE_PORT: String(ports.edge),
    OKOME_CACHEABLE_PATH: CACHEABLE,
    OKOME_ORCHESTRATOR: "10.86.0.25:8000",
    OKOME_NODE_EXPORTER_PORT: String(ports.node),
    OKOME_NGINX_EXPORTER_PORT: String(ports.nginx),
    OKOME_REDIS_HOST: "127.0.0.1",
    OKOME_REDIS_PORT: String(redis.port),
    OKOME_REDIS_EXPORTER_PORT: String(ports.redis),
    OKOME_REDIS_MONITOR_USER: "okome-monitor",
    OKOME_REDIS_MONITOR_PASSWORD: "monitor-pw",
    OKOME_REDIS_KEYS_USER: "okome-health",
    OKOME_REDIS_KEYS_PASSWORD: "health-pw",
  });
  const base = () => ({
    PATH: process.env.PATH,
    HOME: dir,
    OKOME_VALIDATE_ENV: path.join(dir, "validate.env"),
  });
  const validate = (env: Record<string, string> = settings()) =>
    runScript(VALIDATE, [], { ...base(), ...env });
  const app = (...args: string[]) =>
    execFileSync(
      "redis-cli",
      ["--no-auth-warning", "-p", String(redis.port), "--user", "okome", ...args],
      { env: { ...process.env, REDISCLI_AUTH: "app-pw" } },
    ).toString();
  const lines = (out: string, word: "PASS" | "FAIL") =>
    out.split("\n").filter((line) => line.startsWith(`${word} `));

  before(async function () {
    try {
      execFileSync("which", ["redis-server", "redis-cli"]);
    } catch {
      throw new Error(
        "redis-server and redis-cli are missing: scripts/install-system-packages.sh installs them",
      );
    }
    redis = await RedisServer.start({
      args: [
        ...["--user", "default", "off"],
        ...["--user", "okome-monitor", "on", ">monitor-pw", "resetkeys", "-@all", "+@connection"],
        ...["--user", "okome-health", "on", ">health-pw", ...HEALTH_RULES.split(" ")],
        ...["--user", "okome", "on", ">app-pw", "~*", "+@all"],
      ],
    });
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    for (const address of [VIP, EDGE.address, MODEL.address, "127.0.0.1"])
      for (const port of Object.values(ports)) await listen(address, port);
  });
  after(async () => {
    for (const server of servers) server.close();
    await redis?.dispose();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-validate-"));
    tier = healthy();
    for (const key of Object.keys(seen)) delete seen[key];
    for (const node of [EDGE.node, MODEL.node])
      app("SET", `okome:health:${node}`, `{"node":"${node}"}`, "EX", "30");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes every check of a healthy tier and exits 0", async () => {
    const r = await validate();
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(lines(r.out, "FAIL"), []);
    const passed = lines(r.out, "PASS").map((line) => line.split(":")[0]);
    assert.deepEqual(passed, [
      "PASS vip-holder",
      "PASS vip-pair-agrees",
      `PASS edge-headers ${EDGE.node}`,
      `PASS edge-hit ${EDGE.node}`,
      `PASS stale-on-down ${EDGE.node}`,
      `PASS edge-headers ${MODEL.node}`,
      `PASS edge-hit ${MODEL.node}`,
      `PASS stale-on-down ${MODEL.node}`,
      "PASS redis-auth-refused",
      "PASS redis-auth-monitor",
      `PASS redis-health-key ${EDGE.node}`,
      `PASS redis-health-key ${MODEL.node}`,
      `PASS exporter-node ${EDGE.node}`,
      `PASS exporter-nginx ${EDGE.node}`,
      `PASS exporter-node ${MODEL.node}`,
      `PASS exporter-nginx ${MODEL.node}`,
      "PASS exporter-redis",
    ]);
    assert.match(r.out, /^PASS vip-holder: 127\.0\.0\.18 answers from okome-edge$/m);
    assert.match(r.out, /^okome-validate: 17 passed, 0 failed$/m);
  });

  it("names each broken check and exits 1: split brain, no HIT, a lost health key, a dead exporter", async () => {
    tier.vipState[MODEL.node] = 1;
    tier.second[MODEL.node] = "MISS";
    tier.nginxUp[EDGE.node] = false;
    app("DEL", `okome:health:${MODEL.node}`);
    const r = await validate();
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.out, "FAIL"), [
      "FAIL vip-pair-agrees: okome_vip_state okome-edge=1 okome-model=1 (1 is MASTER), the VIP answers from 'okome-edge'",
      `FAIL edge-hit ${MODEL.node}: the second GET of /version was 'MISS' with okome_health_upstream_up '1'`,
      `FAIL redis-health-key ${MODEL.node}: PTTL okome:health:okome-model is '-2' (-2: no key, the probe has not written it)`,
      `FAIL exporter-nginx ${EDGE.node}: http://127.0.0.20:${ports.nginx}/metrics has no nginx_up 1`,
    ]);
    assert.match(r.out, /^okome-validate: 13 passed, 4 failed$/m);
  });

  it("runs every check and sums up when a node exporter is down (a dead Pi): its checks FAIL, naming why", async () => {
    tier.nodeExporterUp[EDGE.node] = false;
    const r = await validate();
    assert.equal(r.code, 1, r.out + r.err);
    assert.deepEqual(lines(r.out, "FAIL"), [
      "FAIL vip-pair-agrees: okome_vip_state okome-edge=none okome-model=0 (1 is MASTER), the VIP answers from 'okome-edge'",
      `FAIL edge-hit ${EDGE.node}: the second GET of /version was 'HIT' with okome_health_upstream_up 'none'`,
      `FAIL stale-on-down ${EDGE.node}: no okome_health_upstream_up for okome-edge on its node exporter`,
      `FAIL exporter-node ${EDGE.node}: http://127.0.0.20:${ports.node}/metrics has no node_exporter_build_info`,
    ]);
    assert.match(r.out, /^okome-validate: 13 passed, 4 failed$/m);
  });

  it("while the upstream is DOWN, wants cached pages served STALE", async () => {
    tier.upstreamUp = { [EDGE.node]: 0, [MODEL.node]: 0 };
    tier.second = { [EDGE.node]: "STALE", [MODEL.node]: "MISS" };
    const r = await validate();
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^PASS stale-on-down okome-edge: the upstream 10\.86\.0\.25:8000 is DOWN and cached pages are served$/m,
    );
    assert.match(
      r.out,
      /^FAIL stale-on-down okome-model: the upstream 10\.86\.0\.25:8000 is DOWN and \/version was 'MISS'$/m,
    );
  });

  it("a wrong monitor password fails the login; the password alone is not enough to read keys", async () => {
    const r = await validate({ ...settings(), OKOME_REDIS_MONITOR_PASSWORD: "wrong" });
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^FAIL redis-auth-monitor: okome-monitor PING at 127\.0\.0\.1:\d+ got '.*WRONGPASS/m,
    );
    const monitorReads = await validate({
      ...settings(),
      OKOME_REDIS_KEYS_USER: "okome-monitor",
      OKOME_REDIS_KEYS_PASSWORD: "monitor-pw",
    });
    assert.match(monitorReads.out, /^FAIL redis-health-key okome-edge: PTTL .* is '.*NOPERM/m);
  });

  it("reads the env file, and a variable in the environment wins over it", async () => {
    const file = { ...settings(), OKOME_REDIS_MONITOR_PASSWORD: "stale-in-the-file" };
    fs.writeFileSync(
      path.join(dir, "validate.env"),
      Object.entries(file)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(""),
    );
    const fromFile = await validate({});
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.out, /^FAIL redis-auth-monitor/m);
    const overridden = await validate({ OKOME_REDIS_MONITOR_PASSWORD: "monitor-pw" });
    assert.equal(overridden.code, 0, overridden.out);
  });

  it("exits 2 naming each missing or bad setting, before any check", async () => {
    const r = await validate({ ...settings(), OKOME_VIP: "", OKOME_EDGE_PORT: "eighty" });
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.match(r.err, /^okome-validate: OKOME_VIP='' is not an IPv4 address$/m);
    assert.match(r.err, /^okome-validate: OKOME_EDGE_PORT='eighty' is not a port$/m);
  });
});
