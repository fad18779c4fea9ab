import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { runScript } from "../support/runScript";

// okome-chaos, run for real on a temp root: OKOME_CHAOS_ROOT is put in front of every path it
// touches (/etc/okome/CHAOS_ENABLE, chaos.env, /run/okome/chaos, the cache dir). systemctl,
// systemd-run, nft, ip and logger are fakes first on PATH that append "<tool> <args>" to one
// calls file, so the order of the steps is visible; systemctl and nft also keep state (which
// units are active, whether the chaos table is loaded), so an undo can be seen to restore.
const CHAOS = path.join(__dirname, "..", "..", "assets", "scripts", "okome-chaos.sh");
const VIP = "10.86.0.18";

const RECORD = `echo "$(basename "$0") $*" >>"$OKOME_FAKE_DIR/calls"`;
const FAKES: Record<string, string> = {
  logger: RECORD,
  "systemd-run": RECORD,
  // A unit is active while its file exists; OKOME_FAKE_FAIL ("stop nginx") makes that call fail.
  systemctl: `${RECORD}
[ "$*" != "\${OKOME_FAKE_FAIL:-}" ] || { echo "fake systemctl: $* failed" >&2; exit 1; }
units=$OKOME_FAKE_DIR/active
mkdir -p "$units"
case $1 in
start) touch "$units/$2" ;;
stop) rm -f "$units/$2" ;;
esac`,
  nft: `${RECORD}
table=$OKOME_FAKE_DIR/nft-okome_chaos
case "$*" in
"-f -") cat >"$table" ;;
"list table inet okome_chaos") [ -f "$table" ] ;;
"delete table inet okome_chaos") rm "$table" ;;
*) echo "fake nft: $* is not faked" >&2; exit 1 ;;
esac`,
  // Holds the VIP while OKOME_FAKE_VIP is set.
  ip: `${RECORD}
echo "2: eth0    inet 10.86.0.20/24 brd 10.86.0.255 scope global eth0"
[ -z "\${OKOME_FAKE_VIP:-}" ] || echo "2: eth0    inet ${VIP}/24 scope global secondary eth0"`,
};

describe("okome-chaos", function () {
  this.timeout(20_000);
  let dir: string;
  const at = (p: string) => path.join(dir, p);
  const root = (p: string) => at(`root${p}`);
  const calls = () =>
    fs.existsSync(at("fake/calls"))
      ? fs.readFileSync(at("fake/calls"), "utf8").split("\n").filter(Boolean)
      : [];
  const active = (unit: string) => fs.existsSync(at(`fake/active/${unit}`));
  const stateFile = (scenario: string) => root(`/run/okome/chaos/${scenario}`);

  const writeEnv = (settings: Record<string, string> = {}) =>
    fs.writeFileSync(
      root("/etc/okome/chaos.env"),
      Object.entries({
        OKOME_NODE: "okome-edge",
        OKOME_VIP: VIP,
        OKOME_ORCHESTRATOR_HOST: "10.86.0.25",
        OKOME_ORCHESTRATOR_PORT: "8000",
        OKOME_EDGE_PORT: "80",
        OKOME_CACHE_DIR: "/var/cache/nginx/okome",
        OKOME_REDIS_UNIT: "",
        OKOME_TEXTFILE_DIR: "/run/okome/textfile",
        OKOME_CHAOS_DEFAULT_DURATION: "60",
        OKOME_CHAOS_MAX_DURATION: "600",
        OKOME_CHAOS_STORM_REQUESTS: "40",
        OKOME_CHAOS_STORM_PARALLEL: "5",
        OKOME_CHAOS_DISK_FILL_PERCENT: "99",
        OKOME_CHAOS_DISK_MARGIN_MB: "1",
        OKOME_CHAOS_DISK_FILL_MAX_MB: "1",
        ...settings,
      })
        .map(([key, value]) => `${key}=${value}\n`)
        .join(""),
    );
  const env = (extra: Record<string, string> = {}) => ({
    PATH: `${at("bin")}:${process.env.PATH}`,
    HOME: dir,
    OKOME_FAKE_DIR: at("fake"),
    OKOME_CHAOS_ROOT: at("root"),
    ...extra,
  });
  const chaos = (args: string[], extra: Record<string, string> = {}) =>
    runScript(CHAOS, args, env(extra));
  /** Runs what the armed timer would run, as systemd-run was asked to (its --setenv included). */
  const fireTimer = (scenario: string) => {
    const armed = calls().find((c) => c.includes(`--unit okome-chaos-undo-${scenario} `));
    assert.ok(armed, `no timer armed for ${scenario}: ${calls().join("; ")}`);
    const words = armed.split(" ");
    const setenv = words.find((w) => w.startsWith("--setenv=OKOME_CHAOS_ROOT="));
    assert.equal(setenv, `--setenv=OKOME_CHAOS_ROOT=${at("root")}`);
    const command = words.slice(words.indexOf(CHAOS));
    assert.deepEqual(command.slice(1), ["undo", scenario]);
    return runScript(command[0], command.slice(1), env());
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-chaos-"));
    fs.mkdirSync(at("bin"));
    fs.mkdirSync(at("fake/active"), { recursive: true });
    fs.mkdirSync(root("/etc/okome"), { recursive: true });
    fs.mkdirSync(root("/var/cache/nginx/okome"), { recursive: true });
    for (const [name, body] of Object.entries(FAKES))
      fs.writeFileSync(at(`bin/${name}`), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, {
        mode: 0o755,
      });
    for (const unit of ["nginx", "keepalived", "redis-server"])
      fs.writeFileSync(at(`fake/active/${unit}`), "");
    writeEnv();
    fs.writeFileSync(root("/etc/okome/CHAOS_ENABLE"), "");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses to inject (exit 3) without /etc/okome/CHAOS_ENABLE, and touches nothing", async () => {
    fs.rmSync(root("/etc/okome/CHAOS_ENABLE"));
    const r = await chaos(["nginx-stop"]);
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /refusing: .*\/etc\/okome\/CHAOS_ENABLE does not exist on okome-edge/);
    assert.deepEqual(
      calls().filter((c) => !c.startsWith("logger")),
      [],
    );
    assert.ok(active("nginx"));
  });

  it("--dry-run prints the timer, the fault and the undo, and changes nothing", async () => {
    const r = await chaos(["--dry-run", "--duration", "30", "upstream-down"]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /arm the undo: systemd-run .*--on-active=30s --unit okome-chaos-undo-upstream-down/,
    );
    assert.match(
      r.out,
      /drop okome-edge's traffic to 10\.86\.0\.25:8000 \(nft table inet okome_chaos\)/,
    );
    assert.match(
      r.out,
      /okome-chaos undo upstream-down \(that is: nft delete table inet okome_chaos\)/,
    );
    assert.deepEqual(calls(), []);
    assert.ok(!fs.existsSync(root("/run/okome/chaos")));
  });

  it("nginx-stop arms the undo timer before it stops nginx, and the timer's undo starts it again", async () => {
    const r = await chaos(["--duration", "45", "nginx-stop"]);
    assert.equal(r.code, 0, r.err);
    const steps = calls().filter((c) => !c.startsWith("logger"));
    const armed = steps.findIndex((c) =>
      c.startsWith(
        "systemd-run --quiet --collect --on-active=45s --unit okome-chaos-undo-nginx-stop",
      ),
    );
    const stopped = steps.indexOf("systemctl stop nginx");
    assert.ok(
      armed >= 0 && stopped > armed,
      `armed at ${armed}, stopped at ${stopped}: ${steps.join("; ")}`,
    );
    assert.ok(!active("nginx"));
    assert.match(
      r.out,
      /undo by hand: okome-chaos undo nginx-stop \(that is: systemctl start nginx\)/,
    );
    assert.ok(calls().some((c) => c.startsWith("logger -t okome-chaos -- nginx-stop: injected")));
    assert.match(
      (await chaos(["status"])).out,
      /^ACTIVE nginx-stop: since .*okome-chaos-undo-nginx-stop\.timer after 45 s$/m,
    );

    const metrics = () => fs.readFileSync(root("/run/okome/textfile/okome_chaos.prom"), "utf8");
    assert.match(metrics(), /^okome_chaos_active\{node="okome-edge",scenario="nginx-stop"\} 1$/m);
    assert.match(metrics(), /^okome_chaos_active\{node="okome-edge",scenario="redis-stop"\} 0$/m);

    const again = await chaos(["nginx-stop"]);
    assert.equal(again.code, 5, "a second drill of the same scenario is refused");

    const undone = await fireTimer("nginx-stop");
    assert.equal(undone.code, 0, undone.err);
    assert.ok(active("nginx"));
    assert.ok(!fs.existsSync(stateFile("nginx-stop")));
    assert.match((await chaos(["status"])).out, /no scenario is active on okome-edge/);
    assert.match(metrics(), /^okome_chaos_active\{node="okome-edge",scenario="nginx-stop"\} 0$/m);
  });

  it("undo of a scenario that is not active succeeds, even without the flag file", async () => {
    fs.rmSync(root("/etc/okome/CHAOS_ENABLE"));
    const r = await chaos(["undo", "upstream-down"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      calls().filter((c) => c.startsWith("nft")),
      ["nft list table inet okome_chaos"],
    );
  });

  it("upstream-down loads its own table dropping the orchestrator, and undo deletes only that table", async () => {
    const r = await chaos(["upstream-down"]);
    assert.equal(r.code, 0, r.err);
    const table = fs.readFileSync(at("fake/nft-okome_chaos"), "utf8");
    assert.match(
      table,
      /^table inet okome_chaos\ndelete table inet okome_chaos\ntable inet okome_chaos \{/,
    );
    assert.match(table, /ip daddr 10\.86\.0\.25 tcp dport 8000 drop/);
    assert.doesNotMatch(table, /flush ruleset/);
    const u = await chaos(["undo", "upstream-down"]);
    assert.equal(u.code, 0, u.err);
    assert.ok(!fs.existsSync(at("fake/nft-okome_chaos")));
    for (const c of calls().filter((line) => line.startsWith("nft ") && line !== "nft -f -"))
      assert.match(c, / inet okome_chaos$/, c);
    assert.ok(calls().includes("systemctl stop okome-chaos-undo-upstream-down.timer"));
  });

  it("a fault that fails to inject is undone at once and disarms its timer (exit 1)", async () => {
    const r = await chaos(["vip-failover"], {
      OKOME_FAKE_VIP: "1",
      OKOME_FAKE_FAIL: "stop keepalived",
    });
    assert.equal(r.code, 1);
    assert.ok(calls().includes("systemctl start keepalived"));
    assert.ok(calls().includes("systemctl stop okome-chaos-undo-vip-failover.timer"));
    assert.ok(!fs.existsSync(stateFile("vip-failover")));
  });

  it("vip-failover runs only on the node holding the VIP; redis-stop only where Redis runs (exit 4)", async () => {
    const elsewhere = await chaos(["vip-failover"]);
    assert.equal(elsewhere.code, 4);
    assert.match(elsewhere.err, /okome-edge does not hold 10\.86\.0\.18/);
    const noRedis = await chaos(["redis-stop"]);
    assert.equal(noRedis.code, 4);
    assert.match(noRedis.err, /Redis does not run on okome-edge/);
    assert.ok(!calls().some((c) => c.startsWith("systemd-run")), "nothing armed");

    const holder = await chaos(["vip-failover"], { OKOME_FAKE_VIP: "1" });
    assert.equal(holder.code, 0, holder.err);
    assert.ok(!active("keepalived"));
    writeEnv({ OKOME_REDIS_UNIT: "redis-server" });
    assert.equal((await chaos(["redis-stop"])).code, 0);
    assert.ok(!active("redis-server"));
    assert.equal((await fireTimer("redis-stop")).code, 0);
    assert.ok(active("redis-server"));
  });

  it("a --duration past the maximum, an unknown scenario and a bad setting are refused", async () => {
    const long = await chaos(["--duration", "601", "nginx-stop"]);
    assert.equal(long.code, 2);
    assert.match(long.err, /--duration must be whole seconds from 1 to 600, got '601'/);
    const unknown = await chaos(["disk-full"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown scenario 'disk-full'/);
    writeEnv({ OKOME_ORCHESTRATOR_PORT: "http" });
    const bad = await chaos(["status"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /OKOME_ORCHESTRATOR_PORT='http' is not a port/);
    assert.deepEqual(
      calls().filter((c) => !c.startsWith("logger")),
      [],
    );
  });

  it("disk-full-cache fills next to the cache up to its bound, and undo removes the file", async () => {
    const fill = root("/var/cache/nginx/.okome-chaos-fill");
    const r = await chaos(["disk-full-cache"]);
    assert.equal(r.code, 0, r.err);
    // The test's bound: 1 MB at most (OKOME_CHAOS_DISK_FILL_MAX_MB).
    assert.equal(fs.statSync(fill).size, 1024 * 1024);
    assert.equal((await fireTimer("disk-full-cache")).code, 0);
    assert.ok(!fs.existsSync(fill));
    // A filesystem already past its bound gets nothing.
    writeEnv({ OKOME_CHAOS_DISK_FILL_PERCENT: "1" });
    const full = await chaos(["disk-full-cache"]);
    assert.equal(full.code, 4);
    assert.ok(!fs.existsSync(fill));
  });

  it("cache-miss-storm empties the cache, then sends its bounded burst to the local edge", async () => {
    fs.mkdirSync(root("/var/cache/nginx/okome/a/bc"), { recursive: true });
    fs.writeFileSync(root("/var/cache/nginx/okome/a/bc/0123"), "cached");
    fs.mkdirSync(root("/var/lib/okome-prewarm"), { recursive: true });
    fs.writeFileSync(root("/var/lib/okome-prewarm/top-urls.txt"), "/assets/a.js\n/version\n");
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      writeEnv({ OKOME_EDGE_PORT: String((server.address() as AddressInfo).port) });
      const r = await chaos(["cache-miss-storm"]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(fs.readdirSync(root("/var/cache/nginx/okome")), []);
      assert.equal(seen.length, 40);
      assert.deepEqual([...new Set(seen)].sort(), ["/assets/a.js", "/version"]);
      assert.match(r.out, /storm: +40 200/);
    } finally {
      server.close();
    }
  });
});
