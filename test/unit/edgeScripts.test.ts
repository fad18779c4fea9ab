import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { ScriptRun, runScript } from "../support/runScript";

// The edge node's host scripts, run for real: nginx and systemctl are bash fakes first on PATH
// that record their calls, the orchestrator and the edge are loopback HTTP servers of this
// process, and Redis is a real redis-server holding the ACL the health probe's user gets.
const SCRIPTS = path.join(__dirname, "..", "..", "assets", "scripts");
const PROBE = path.join(SCRIPTS, "okome-health-probe.sh");
const HIT_RATIO = path.join(SCRIPTS, "calculate-hit-ratio.sh");
const VERIFY = path.join(SCRIPTS, "verify.sh");
const NODE = "okome-edge";
const TIMEOUT_S = 1.5;

// The state file's contract with nginx's config, byte for byte.
const UP =
  "# okome-health-probe: the upstream is UP. Written on a state change only.\n" +
  "set $okome_upstream_pool okome_orchestrator;\n";
const DOWN =
  "# okome-health-probe: the upstream is DOWN: cached pages are served stale, others get the maintenance page.\n" +
  "set $okome_upstream_pool okome_maintenance;\n";

// OKOME_FAKE_DIR/calls: one line per nginx or systemctl call. nginx -t fails while
// OKOME_FAKE_DIR/nginx-t-fails exists; systemctl is-active answers from OKOME_FAKE_DIR/active.
const FAKES: Record<string, string> = {
  nginx: `#!/usr/bin/env bash
echo "nginx $*" >>"$OKOME_FAKE_DIR/calls"
if [ -e "$OKOME_FAKE_DIR/nginx-t-fails" ]; then
  echo "nginx: [emerg] unknown directive \\"sett\\" in /etc/nginx/okome/health_state.conf:2" >&2
  exit 1
fi
`,
  systemctl: `#!/usr/bin/env bash
echo "systemctl $*" >>"$OKOME_FAKE_DIR/calls"
if [ "$1" = is-active ]; then
  unit=\${*: -1}
  if grep -qxF "$unit" "$OKOME_FAKE_DIR/active" 2>/dev/null; then state=active; else state=inactive; fi
  [ "$2" = --quiet ] || echo "$state"
  [ "$state" = active ]
fi
`,
  // The real redis-cli, its arguments recorded (one per line) to show what ps would see.
  "redis-cli": `#!/usr/bin/env bash
printf '%s\\n' "$@" >"$OKOME_FAKE_DIR/redis-cli.args"
exec /usr/bin/redis-cli "$@"
`,
};

const run = runScript;

/** A loopback HTTP server on a free port. */
class LoopbackServer {
  requests = 0;
  private readonly server = http.createServer((req, res) => {
    this.requests++;
    this.handle(req, res);
  });

  private constructor(private readonly handle: http.RequestListener) {}

  static async start(handle: http.RequestListener): Promise<LoopbackServer> {
    const self = new LoopbackServer(handle);
    await new Promise<void>((resolve) => self.server.listen(0, "127.0.0.1", resolve));
    return self;
  }

  url(p: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A temp dir with the fakes in `bin`; `env()` puts them first on PATH. */
class Sandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-edge-scripts-"));
  readonly bin = path.join(this.dir, "bin");
  readonly fake = path.join(this.dir, "fake");

  constructor() {
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.fake);
    for (const [name, text] of Object.entries(FAKES))
      fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
  }

  path(p: string): string {
    return path.join(this.dir, p);
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:${process.env.PATH}`,
      HOME: this.dir,
      OKOME_FAKE_DIR: this.fake,
      ...extra,
    };
  }

  /** The fakes' calls since the last `calls()`. */
  calls(): string[] {
    const log = path.join(this.fake, "calls");
    if (!fs.existsSync(log)) return [];
    const lines = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
    fs.rmSync(log);
    return lines;
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Prometheus text: the value of the sample `name{node="okome-edge"}`. */
function sample(prom: string, name: string): string {
  const line = prom.split("\n").find((l) => l.startsWith(`${name}{node="${NODE}"} `));
  assert.ok(line, `no ${name} in\n${prom}`);
  return line.split(" ")[1];
}

describe("edge host scripts", function () {
  this.timeout(20_000);

  describe("okome-health-probe", () => {
    const password = randomBytes(12).toString("hex");
    const adminPassword = randomBytes(12).toString("hex");
    let redis: RedisServer;
    let aclDir: string;
    let admin: Redis;
    let upstream: LoopbackServer;
    let box: Sandbox;
    let stateFile: string;
    let mode: "ok" | "fail" | "hang";

    const probe = (...args: string[]) =>
      run(PROBE, args, box.env({ OKOME_HEALTH_ENV: box.path("edge-health.env") }));
    const probeTimes = async (times: number) => {
      for (let i = 0; i < times; i++) {
        const r = await probe();
        assert.equal(r.code, 0, r.err);
      }
    };
    const state = () => fs.readFileSync(stateFile, "utf8");
    const prom = () => fs.readFileSync(box.path("run/okome/textfile/okome_health.prom"), "utf8");

    before(async () => {
      aclDir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-edge-acl-"));
      const acl = path.join(aclDir, "users.acl");
      fs.writeFileSync(
        acl,
        `user okome-health on >${password} ~okome:health:* resetchannels -@all +set +pttl\n` +
          `user default on >${adminPassword} ~* &* +@all\n`,
      );
      redis = await startRedisServer({ args: ["--aclfile", acl] });
      admin = new Redis({ port: redis.port, password: adminPassword, lazyConnect: true });
      // It reconnects by itself after a test stopped and restarted Redis.
      admin.on("error", () => undefined);
      await admin.connect();
      upstream = await LoopbackServer.start((_req, res) => {
        if (mode === "ok") res.writeHead(200).end("ok");
        else if (mode === "fail") res.writeHead(503).end("no");
        // "hang": never answers; curl's --max-time ends it.
      });
    });
    after(async () => {
      admin?.disconnect();
      await redis?.dispose();
      await upstream?.close();
      fs.rmSync(aclDir, { recursive: true, force: true });
    });

    beforeEach(async () => {
      box = new Sandbox();
      mode = "ok";
      stateFile = box.path("etc/nginx/okome/health_state.conf");
      const secret = box.path("etc/okome/secrets/health-redis");
      fs.mkdirSync(path.dirname(secret), { recursive: true });
      fs.writeFileSync(secret, password, { mode: 0o600 });
      fs.writeFileSync(
        box.path("edge-health.env"),
        [
          `OKOME_NODE=${NODE}`,
          `OKOME_UPSTREAM_URL=${upstream.url("/health")}`,
          `OKOME_PROBE_TIMEOUT=${TIMEOUT_S}`,
          "OKOME_FALL=3",
          "OKOME_RISE=2",
          `OKOME_STATE_FILE=${stateFile}`,
          `OKOME_STATE_DIR=${box.path("var/lib/okome/health")}`,
          `OKOME_TEXTFILE_DIR=${box.path("run/okome/textfile")}`,
          "OKOME_HEALTH_REDIS_HOST=127.0.0.1",
          `OKOME_HEALTH_REDIS_PORT=${redis.port}`,
          "OKOME_HEALTH_REDIS_USER=okome-health",
          `OKOME_HEALTH_REDIS_PASSWORD_FILE=${secret}`,
          "OKOME_HEALTH_TTL=30",
          "",
        ].join("\n"),
      );
      await admin.call("ACL", "LOG", "RESET");
      await admin.del(`okome:health:${NODE}`);
      upstream.requests = 0;
    });
    afterEach(() => box.dispose());

    it("--init writes the UP state file when there is none and leaves an existing one alone; no probe, no reload", async () => {
      let r = await probe("--init");
      assert.equal(r.code, 0, r.err);
      assert.equal(state(), UP);
      assert.equal(fs.statSync(stateFile).mode & 0o777, 0o644);

      fs.writeFileSync(stateFile, "# by hand\n");
      r = await probe("--init");
      assert.equal(r.code, 0, r.err);
      assert.equal(state(), "# by hand\n");
      assert.deepEqual(box.calls(), []);
      assert.equal(upstream.requests, 0);
    });

    it("goes DOWN after 3 failed probes and UP after 2 good ones, reloading nginx once each time", async () => {
      await probe("--init");
      mode = "fail";
      await probeTimes(2);
      assert.equal(state(), UP);
      assert.deepEqual(box.calls(), [], "no reload before the third failure");
      assert.equal(sample(prom(), "okome_health_probe_success"), "0");
      assert.equal(sample(prom(), "okome_health_upstream_up"), "1");

      const flipped = Math.floor(Date.now() / 1000);
      const third = await probe();
      assert.equal(third.code, 0, third.err);
      assert.equal(state(), DOWN);
      assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      assert.match(
        third.out,
        new RegExp(
          `^okome-health-probe: okome-edge: upstream DOWN after 3 failed probes of ${upstream.url("/health")} \\(curl: \\(22\\) .*503\\): reloading nginx\\n$`,
        ),
      );
      assert.equal(sample(prom(), "okome_health_upstream_up"), "0");
      const since = Number(sample(prom(), "okome_health_last_change_timestamp_seconds"));
      assert.ok(since >= flipped && since <= Date.now() / 1000, `since ${since}`);

      await probeTimes(3);
      assert.deepEqual(box.calls(), [], "DOWN stays DOWN without reloads");
      assert.equal(state(), DOWN);

      mode = "ok";
      await probeTimes(1);
      assert.equal(state(), DOWN);
      assert.deepEqual(box.calls(), [], "one good probe is not enough");
      assert.equal(sample(prom(), "okome_health_probe_success"), "1");
      assert.equal(sample(prom(), "okome_health_upstream_up"), "0");

      const second = await probe();
      assert.equal(second.code, 0, second.err);
      assert.equal(state(), UP);
      assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      assert.match(second.out, /upstream UP after 2 good probes of .*: reloading nginx$/m);
      await probeTimes(2);
      assert.deepEqual(box.calls(), []);

      const text = prom();
      assert.equal(sample(text, "okome_health_transitions_total"), "2");
      assert.equal(sample(text, "okome_health_upstream_up"), "1");
      assert.match(text, /^# TYPE okome_health_transitions_total counter$/m);
      assert.match(sample(text, "okome_health_probe_duration_seconds"), /^\d+\.\d{3}$/);
      assert.deepEqual(
        fs.readdirSync(box.path("run/okome/textfile")),
        ["okome_health.prom"],
        "no temp file left",
      );
      assert.equal(fs.statSync(box.path("var/lib/okome/health")).mode & 0o777, 0o700);
    });

    it("counts an upstream that does not answer as a failure within the timeout", async () => {
      await probe("--init");
      mode = "hang";
      const r = await probe();
      assert.equal(r.code, 0, r.err);
      assert.ok(r.ms < (TIMEOUT_S + 1) * 1000, `took ${r.ms} ms`);
      assert.equal(sample(prom(), "okome_health_probe_success"), "0");
      assert.ok(Number(sample(prom(), "okome_health_probe_duration_seconds")) >= TIMEOUT_S - 0.1);
      await probeTimes(2);
      assert.equal(state(), DOWN, "three timeouts are three failures");
    });

    it("puts the previous file back and does not reload when nginx -t refuses the new state", async () => {
      await probe("--init");
      const old = new Date("2020-01-01T00:00:00Z");
      fs.utimesSync(stateFile, old, old);
      fs.writeFileSync(path.join(box.fake, "nginx-t-fails"), "");
      mode = "fail";
      await probeTimes(2);
      const r = await probe();
      assert.equal(r.code, 1);
      assert.match(r.err, /nginx -t refuses .*health_state\.conf for DOWN.*unknown directive/);
      assert.equal(state(), UP);
      assert.equal(fs.statSync(stateFile).mtime.getTime(), old.getTime(), "the old file itself");
      assert.deepEqual(box.calls(), ["nginx -t -q"], "no reload");
      assert.equal(sample(prom(), "okome_health_transitions_total"), "0");
      assert.equal(sample(prom(), "okome_health_upstream_up"), "1");
      assert.deepEqual(
        fs.readdirSync(path.dirname(stateFile)),
        ["health_state.conf"],
        "no temp file left",
      );

      // Once nginx accepts it, the next failed probe flips.
      fs.rmSync(path.join(box.fake, "nginx-t-fails"));
      await probeTimes(1);
      assert.equal(state(), DOWN);
      assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      assert.equal(sample(prom(), "okome_health_transitions_total"), "1");
    });

    it("rewrites a state file removed or edited by hand, reloading once", async () => {
      await probe("--init");
      await probeTimes(1);
      assert.deepEqual(box.calls(), []);

      fs.rmSync(stateFile);
      const r = await probe();
      assert.equal(r.code, 0, r.err);
      assert.equal(state(), UP);
      assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      assert.match(r.out, /did not hold the UP state \(edited or removed by hand\)/);

      fs.writeFileSync(stateFile, "set $okome_upstream_pool okome_maintenance;\n");
      await probeTimes(1);
      assert.equal(state(), UP);
      assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      await probeTimes(1);
      assert.deepEqual(box.calls(), []);
      assert.equal(sample(prom(), "okome_health_transitions_total"), "0");
    });

    it("sets okome:health:<node> with a TTL, as a user that may only SET okome:health:*", async () => {
      const key = `okome:health:${NODE}`;
      await probe("--init");
      const t0 = Math.floor(Date.now() / 1000);
      await probeTimes(1);
      const t1 = Math.ceil(Date.now() / 1000);
      const value = JSON.parse((await admin.get(key))!);
      assert.deepEqual(Object.keys(value), ["node", "upstream", "since", "checked"]);
      assert.equal(value.node, NODE);
      assert.equal(value.upstream, "up");
      assert.ok(value.checked >= t0 && value.checked <= t1, `checked ${value.checked}`);
      const ttl = await admin.ttl(key);
      assert.ok(ttl > 0 && ttl <= 30, `TTL ${ttl}`);

      mode = "fail";
      await probeTimes(3);
      const down = JSON.parse((await admin.get(key))!);
      assert.equal(down.upstream, "down");
      assert.equal(
        down.since,
        Number(sample(prom(), "okome_health_last_change_timestamp_seconds")),
      );

      // What ps shows: no password, nothing but the SET.
      const args = fs.readFileSync(path.join(box.fake, "redis-cli.args"), "utf8").split("\n");
      assert.ok(!args.some((arg) => arg.includes(password)), "the password is not an argument");
      assert.deepEqual(args, [
        "--no-auth-warning",
        "-e",
        "-h",
        "127.0.0.1",
        "-p",
        String(redis.port),
        "--user",
        "okome-health",
        "SET",
        key,
        JSON.stringify(down),
        "EX",
        "30",
        "",
      ]);
      assert.deepEqual(await admin.call("ACL", "LOG"), [], "Redis denied nothing");
    });

    it("passes the Redis password through REDISCLI_AUTH, never as -a or --pass", () => {
      const source = fs.readFileSync(PROBE, "utf8").replace(/\\\n/g, " ");
      const invocations = source.split("\n").filter((line) => /\bredis-cli\b/.test(line));
      const calls = invocations.filter((line) => !line.trimStart().startsWith("#"));
      assert.equal(calls.length, 1, calls.join("\n"));
      assert.match(calls[0], /REDISCLI_AUTH="\$\(cat "\$OKOME_HEALTH_REDIS_PASSWORD_FILE"\)"/);
      assert.doesNotMatch(calls[0], /\s(-a|--pass|--askpass)\s/);
    });

    it("keeps probing and flipping when Redis is down or refuses the login, with a warning", async () => {
      await probe("--init");
      await redis.stop();
      try {
        mode = "fail";
        for (let i = 0; i < 3; i++) {
          const r = await probe();
          assert.equal(r.code, 0, r.err);
          assert.match(r.err, /warning: okome:health:okome-edge not written to Redis .*refused/);
        }
        assert.equal(state(), DOWN);
        assert.deepEqual(box.calls(), ["nginx -t -q", "systemctl reload nginx"]);
      } finally {
        await redis.start();
      }
      fs.writeFileSync(box.path("etc/okome/secrets/health-redis"), "wrong");
      mode = "ok";
      await probeTimes(1);
      const r = await probe();
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /not written to Redis.*WRONGPASS/s);
      assert.equal(state(), UP);
    });

    it("names every wrong setting at once", async () => {
      const env = box.path("edge-health.env");
      fs.appendFileSync(env, "OKOME_FALL=0\nOKOME_PROBE_TIMEOUT=0.0\nOKOME_NODE='a b'\n");
      const r = await probe();
      assert.equal(r.code, 1);
      assert.deepEqual(r.err.trim().split("\n"), [
        `okome-health-probe: ${env}: OKOME_NODE='a b' is not a node name`,
        `okome-health-probe: ${env}: OKOME_PROBE_TIMEOUT='0.0' is not a number of seconds > 0`,
        `okome-health-probe: ${env}: OKOME_FALL='0' is not a count >= 1`,
      ]);
      assert.equal(upstream.requests, 0);
    });
  });

  describe("okome-hit-ratio", () => {
    let box: Sandbox;
    const log = () => box.path("okome-access.log");
    const hitRatio = (...args: string[]) =>
      run(
        HIT_RATIO,
        args,
        box.env({
          OKOME_ACCESS_LOG: log(),
          OKOME_TEXTFILE_DIR: box.path("textfile"),
          OKOME_NODE: NODE,
        }),
      );
    const promFile = () => box.path("textfile/okome_hit_ratio.prom");
    const samples = () =>
      fs
        .readFileSync(promFile(), "utf8")
        .split("\n")
        .filter((line) => line && !line.startsWith("#"));

    // nginx's $time_iso8601 of `secondsAgo` in the past, in the given time zone.
    const isoTime = (secondsAgo: number, offsetHours = 0) => {
      const local = new Date(Date.now() - secondsAgo * 1000 + offsetHours * 3600_000);
      const sign = offsetHours < 0 ? "-" : "+";
      const hh = String(Math.abs(offsetHours)).padStart(2, "0");
      return `${local.toISOString().slice(0, 19)}${sign}${hh}:00`;
    };
    const entry = (cache: string, secondsAgo: number, offsetHours = 0) =>
      JSON.stringify({
        time: isoTime(secondsAgo, offsetHours),
        request_id: randomBytes(4).toString("hex"),
        remote_addr: "10.86.0.1",
        method: "GET",
        uri: "/assets/app.js",
        status: cache === "" ? 429 : 200,
        bytes: 1234,
        cache,
        upstream: "10.86.0.25:8000",
        upstream_time: "0.003",
        request_time: 0.004,
        user_agent: "curl/7.88",
      });

    beforeEach(() => (box = new Sandbox()));
    afterEach(() => box.dispose());

    it("counts the window's requests per cache status, skips a line that is not JSON, and writes the metrics", async () => {
      const inWindow = [
        ...Array<string>(4).fill("HIT"),
        ...["STALE", "UPDATING", "REVALIDATED", "MISS", "MISS", "EXPIRED", "BYPASS", "", ""],
      ];
      fs.writeFileSync(
        log(),
        [
          ...inWindow.map((cache) => entry(cache, 30)),
          entry("HIT", 20, 9), // Tokyo time, in the window
          entry("HIT", 1000),
          entry("HIT", 1000),
          entry("MISS", 1000, 9), // Tokyo time: would be in the future, and counted, if read as UTC
          '{"time": "2026-11-29T12:00:01+00:00", "cache": "HI', // a line cut by a full disk
        ].join("\n") + "\n",
      );
      const r = await hitRatio("--textfile");
      assert.equal(r.code, 0, r.err);
      const counts = Object.fromEntries(
        [...r.out.matchAll(/^([A-Z]+|total)\s+(\d+)\s+([\d.]+%)$/gm)].map((m) => [m[1], m[2]]),
      );
      assert.deepEqual(counts, {
        HIT: "5",
        MISS: "2",
        EXPIRED: "1",
        STALE: "1",
        UPDATING: "1",
        REVALIDATED: "1",
        BYPASS: "1",
        NONE: "2",
        total: "14",
      });
      assert.match(r.out, /^HIT\s+5\s+35\.7%$/m);
      // (5 + 1 + 1 + 1) of the 12 with a cache status
      assert.match(r.out, /^hit ratio: 0\.667 \(HIT\+STALE\+UPDATING\+REVALIDATED of 12 requests/m);
      assert.match(r.out, /skipped, not JSON log entries: 1$/m);
      assert.deepEqual(samples(), [
        `okome_edge_requests{node="${NODE}",cache_status="HIT"} 5`,
        `okome_edge_requests{node="${NODE}",cache_status="MISS"} 2`,
        `okome_edge_requests{node="${NODE}",cache_status="EXPIRED"} 1`,
        `okome_edge_requests{node="${NODE}",cache_status="STALE"} 1`,
        `okome_edge_requests{node="${NODE}",cache_status="UPDATING"} 1`,
        `okome_edge_requests{node="${NODE}",cache_status="REVALIDATED"} 1`,
        `okome_edge_requests{node="${NODE}",cache_status="BYPASS"} 1`,
        `okome_edge_requests{node="${NODE}",cache_status="NONE"} 2`,
        `okome_edge_hit_ratio{node="${NODE}"} 0.667`,
        `okome_edge_hit_ratio_window_seconds{node="${NODE}"} 300`,
      ]);

      const wider = await hitRatio("--window", "1200");
      assert.match(wider.out, /^total\s+17\s/m);
      assert.match(wider.out, /^hit ratio: 0\.667 \(.* of 15 requests/m);
    });

    it("says there were no requests, and exits 0, for an empty or a missing log", async () => {
      fs.writeFileSync(log(), "");
      let r = await hitRatio();
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `okome-hit-ratio: ${NODE}: no requests in the last 300 s\n`);

      fs.rmSync(log());
      r = await hitRatio("--window", "60", "--textfile");
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.out,
        `okome-hit-ratio: ${NODE}: no requests in the last 60 s (${log()} does not exist)\n`,
      );
      assert.deepEqual(samples(), [`okome_edge_hit_ratio_window_seconds{node="${NODE}"} 60`]);
    });

    it("gives n/a when no request went through the cache", async () => {
      fs.writeFileSync(log(), entry("", 5) + "\n");
      const r = await hitRatio("--textfile");
      assert.match(r.out, /^hit ratio: n\/a /m);
      assert.deepEqual(samples(), [
        `okome_edge_requests{node="${NODE}",cache_status="NONE"} 1`,
        `okome_edge_hit_ratio_window_seconds{node="${NODE}"} 300`,
      ]);
    });
  });

  describe("okome-verify", () => {
    let box: Sandbox;
    let edge: LoopbackServer;
    // What the edge plays: the cache status of a repeated GET, and its node header.
    let repeated: string;
    let edgeNode: string;
    let nginxUp: string;
    const seen = new Set<string>();

    const verify = () =>
      run(VERIFY, [], box.env({ OKOME_VERIFY_ENV: box.path("edge-verify.env") }));
    const lines = (r: ScriptRun) => r.out.trim().split("\n");
    const ALL_PASS = [
      "PASS nginx is active",
      "PASS nginx -t",
      "PASS health state: UP",
      "PASS health location answers 200",
      "PASS second GET /version is a cache HIT",
      "PASS header X-OKOME-Node",
      "PASS header X-Request-ID",
      "PASS header X-Upstream",
      "PASS status page",
      "PASS exporter: nginx_up 1",
      "PASS okome-health-probe.timer is active",
      "PASS okome-prewarm.timer is active",
    ];

    before(async () => {
      edge = await LoopbackServer.start((req, res) => {
        const url = req.url ?? "";
        if (url === "/__okome/health") res.writeHead(200).end("ok\n");
        else if (url === "/stub_status")
          res.writeHead(200).end("Active connections: 1 \nserver accepts handled requests\n");
        else if (url === "/metrics") res.writeHead(200).end(`# TYPE nginx_up gauge\n${nginxUp}\n`);
        else if (url === "/version") {
          const status = seen.has(url) ? repeated : "MISS";
          seen.add(url);
          // Names in other cases than the script's: HTTP header names match in any case.
          res
            .writeHead(200, {
              "x-cache-status": status,
              "X-Okome-Node": edgeNode,
              "X-REQUEST-ID": randomBytes(8).toString("hex"),
              "X-Upstream": "10.86.0.25:8000",
            })
            .end('{"version":"1"}');
        } else res.writeHead(404).end();
      });
    });
    after(() => edge?.close());

    beforeEach(() => {
      box = new Sandbox();
      seen.clear();
      repeated = "HIT";
      edgeNode = NODE;
      nginxUp = "nginx_up 1";
      const stateFile = box.path("health_state.conf");
      fs.writeFileSync(stateFile, UP);
      fs.writeFileSync(
        path.join(box.fake, "active"),
        "nginx\nokome-health-probe.timer\nokome-prewarm.timer\n",
      );
      fs.writeFileSync(
        box.path("edge-verify.env"),
        [
          `OKOME_NODE=${NODE}`,
          `OKOME_EDGE_URL=${edge.url("")}`,
          `OKOME_STATUS_URL=${edge.url("/stub_status")}`,
          `OKOME_EXPORTER_URL=${edge.url("/metrics")}`,
          `OKOME_HEALTH_URL=${edge.url("/__okome/health")}`,
          `OKOME_STATE_FILE=${stateFile}`,
          "OKOME_PROBE_PATH=/version",
          "",
        ].join("\n"),
      );
    });
    afterEach(() => box.dispose());

    it("passes every check on a healthy edge", async () => {
      const r = await verify();
      assert.deepEqual(lines(r), ALL_PASS, r.err);
      assert.equal(r.code, 0);
    });

    it("fails the check of a wrong X-OKOME-Node, naming it, and exits 1", async () => {
      edgeNode = "okome-model";
      const r = await verify();
      assert.equal(r.code, 1);
      assert.deepEqual(
        lines(r),
        ALL_PASS.map((line) =>
          line === "PASS header X-OKOME-Node"
            ? "FAIL header X-OKOME-Node: 'okome-model', want 'okome-edge'"
            : line,
        ),
      );
    });

    it("takes STALE only while the state file says DOWN", async () => {
      repeated = "STALE";
      let r = await verify();
      assert.equal(r.code, 1);
      assert.ok(
        lines(r).includes(
          "FAIL second GET /version is a cache HIT: X-Cache-Status is 'STALE' (HTTP/1.1 200 OK)",
        ),
        r.out,
      );

      fs.writeFileSync(box.path("health_state.conf"), DOWN);
      seen.clear();
      r = await verify();
      assert.equal(r.code, 0, r.out);
      assert.ok(lines(r).includes("PASS health state: DOWN"), r.out);
      assert.ok(lines(r).includes("PASS second GET /version is a cache STALE"), r.out);
    });

    it("names each broken part: nginx -t, the exporter, the timer, the state file", async () => {
      fs.writeFileSync(path.join(box.fake, "nginx-t-fails"), "");
      fs.writeFileSync(path.join(box.fake, "active"), "nginx\n");
      fs.rmSync(box.path("health_state.conf"));
      nginxUp = "nginx_up 0";
      const r = await verify();
      assert.equal(r.code, 1);
      const fails = lines(r).filter((line) => line.startsWith("FAIL"));
      assert.deepEqual(fails, [
        'FAIL nginx -t: nginx: [emerg] unknown directive "sett" in /etc/nginx/okome/health_state.conf:2',
        `FAIL health state: ${box.path("health_state.conf")} is missing`,
        `FAIL exporter: nginx_up 1: ${edge.url("/metrics")}: nginx_up 0`,
        "FAIL okome-health-probe.timer is active: systemctl is-active says inactive",
        "FAIL okome-prewarm.timer is active: systemctl is-active says inactive",
      ]);
    });
  });
});
