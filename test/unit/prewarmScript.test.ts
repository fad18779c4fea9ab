import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { runScript } from "../support/runScript";

// okome-prewarm, run for real against a generated access log: the local nginx and the primary's
// published list are a loopback HTTP server of this process that records what it is asked, and
// curl is a shim first on PATH that records its arguments before running the real one.
const PREWARM = path.join(__dirname, "..", "..", "assets", "scripts", "okome-prewarm.sh");
const NODE = "okome-edge";
const UA = "okome-prewarm/1";
const TIMEOUT_S = 1;
const LIST_PATH = "/okome/top-urls.txt";

// The health probe's state files, as far as the pre-warm reads them.
const UP = "set $okome_upstream_pool okome_orchestrator;\n";
const DOWN = "set $okome_upstream_pool okome_maintenance;\n";

const CURL_SHIM = `#!/usr/bin/env bash
echo "$*" >>"$OKOME_FAKE_DIR/curl.calls"
exec /usr/bin/curl "$@"
`;

const run = (env: NodeJS.ProcessEnv) => runScript(PREWARM, [], env);

type Answer = number | "hang";

/** A loopback HTTP server that records each request and answers per path (200 by default). */
class Upstream {
  seen: { path: string; userAgent: string | undefined }[] = [];
  answers = new Map<string, Answer>();
  /** The primary's published list, served at LIST_PATH. */
  list = "";
  private readonly server = http.createServer((req, res) => {
    const p = req.url ?? "";
    this.seen.push({ path: p, userAgent: req.headers["user-agent"] });
    const answer = this.answers.get(p) ?? 200;
    // "hang": never answers; curl's --max-time ends it.
    if (answer !== "hang") res.writeHead(answer).end(p === LIST_PATH ? this.list : "ok");
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  url(p = ""): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// nginx's $time_iso8601 of `secondsAgo` in the past, in the given time zone.
function isoTime(secondsAgo: number, offsetHours: number): string {
  const local = new Date(Date.now() - secondsAgo * 1000 + offsetHours * 3600_000);
  const sign = offsetHours < 0 ? "-" : "+";
  const hh = String(Math.abs(offsetHours)).padStart(2, "0");
  return `${local.toISOString().slice(0, 19)}${sign}${hh}:00`;
}

interface Entry {
  readonly uri: string;
  readonly times?: number;
  readonly secondsAgo?: number;
  readonly offsetHours?: number;
  readonly method?: string;
  readonly status?: number;
  readonly userAgent?: string;
}

function logLines(entry: Entry): string[] {
  const line = () =>
    JSON.stringify({
      time: isoTime(entry.secondsAgo ?? 30, entry.offsetHours ?? 0),
      request_id: randomBytes(4).toString("hex"),
      remote_addr: "10.86.0.1",
      method: entry.method ?? "GET",
      uri: entry.uri,
      status: entry.status ?? 200,
      bytes: 1234,
      cache: "HIT",
      upstream: "10.86.0.25:8000",
      upstream_time: "0.003",
      request_time: 0.004,
      user_agent: entry.userAgent ?? "curl/7.88",
    });
  return Array.from({ length: entry.times ?? 1 }, line);
}

/** Prometheus text: the value of the sample `name{node="okome-edge"}`. */
function sample(prom: string, name: string): string {
  const line = prom.split("\n").find((l) => l.startsWith(`${name}{node="${NODE}"} `));
  assert.ok(line, `no ${name} in\n${prom}`);
  return line.split(" ")[1];
}

// With a window of 300 s and a top of 4. Each request that must not count would change the list
// if it did.
const LOG: readonly Entry[] = [
  { uri: "/assets/app.js", times: 5 },
  { uri: "/api/plans?x=1", times: 3 },
  // Tied with /api/plans?x=1, so lexical order; two of its three are in other time zones.
  { uri: "/index.html" },
  { uri: "/index.html", secondsAgo: 20, offsetHours: 9 },
  { uri: "/index.html", secondsAgo: 40, offsetHours: -5 },
  // Tied with /z.js and first in lexical order; the brackets are no curl glob.
  { uri: "/img/[1].png" },
  { uri: "/img/[1].png", userAgent: `${UA} (by hand)` },
  { uri: "/z.js", times: 2 },
  // Not counted:
  { uri: "/img/[1].png", times: 4, userAgent: UA },
  { uri: "/old.js" },
  { uri: "/old.js", times: 6, secondsAgo: 1000 },
  { uri: "/future.js", times: 6, secondsAgo: 1000, offsetHours: 9 },
  { uri: "/api/submit", times: 6, method: "POST" },
  { uri: "/head.js", times: 6, method: "HEAD" },
  { uri: "/missing", times: 6, status: 404 },
  // Dropped, with a warning:
  { uri: "/with space", times: 7 },
  { uri: "/nl\n/evil", times: 7 },
  { uri: "http://example.com/absolute", times: 7 },
];
const TOP = ["/assets/app.js", "/api/plans?x=1", "/index.html", "/img/[1].png"];

describe("okome-prewarm", function () {
  this.timeout(20_000);
  const upstream = new Upstream();
  let dir: string;
  const at = (p: string) => path.join(dir, p);
  const envFile = () => at("edge-prewarm.env");
  const published = () => fs.readFileSync(at("www/okome/top-urls.txt"), "utf8");
  const prom = () => fs.readFileSync(at("textfile/okome_prewarm.prom"), "utf8");
  /** The --max-time of each warm request curl was given, in order. */
  const maxTimes = () =>
    fs
      .readFileSync(at("fake/curl.calls"), "utf8")
      .split("\n")
      .filter((call) => call.includes("%{http_code}"))
      .map((call) => Number(/--max-time (\S+)/.exec(call)?.[1]));
  const warmed = () => upstream.seen.filter((request) => request.path !== LIST_PATH);

  const writeEnv = (settings: Record<string, string | number>) =>
    fs.writeFileSync(
      envFile(),
      Object.entries({
        OKOME_NODE: NODE,
        OKOME_ACCESS_LOG: at("okome-access.log"),
        OKOME_PREWARM_TOP: 4,
        OKOME_PREWARM_WINDOW: 300,
        OKOME_PREWARM_BASE_URL: upstream.url(),
        OKOME_PREWARM_USER_AGENT: `'${UA}'`,
        OKOME_PREWARM_TIMEOUT: TIMEOUT_S,
        OKOME_PREWARM_BUDGET: 10,
        OKOME_STATE_FILE: at("health_state.conf"),
        OKOME_TEXTFILE_DIR: at("textfile"),
        OKOME_PREWARM_PUBLISH_FILE: at("www/okome/top-urls.txt"),
        OKOME_PREWARM_SOURCE_URL: "",
        ...settings,
      })
        .map(([key, value]) => `${key}=${value}\n`)
        .join(""),
    );
  const prewarm = () =>
    run({
      PATH: `${at("bin")}:${process.env.PATH}`,
      HOME: dir,
      OKOME_FAKE_DIR: at("fake"),
      OKOME_PREWARM_ENV: envFile(),
    });

  before(() => upstream.start());
  after(() => upstream.close());

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-prewarm-"));
    fs.mkdirSync(at("bin"));
    fs.mkdirSync(at("fake"));
    fs.writeFileSync(at("bin/curl"), CURL_SHIM, { mode: 0o755 });
    fs.writeFileSync(
      at("okome-access.log"),
      [...LOG.flatMap(logLines), '{"time": "2026-11-29T12:00:01+00:00", "uri": "/cu'].join("\n") +
        "\n",
    );
    fs.writeFileSync(at("health_state.conf"), UP);
    writeEnv({});
    upstream.seen = [];
    upstream.answers.clear();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("publishes the log's top N and warms it in order with its user agent, counting a 500 and a hang as failures and a 304 as warmed", async () => {
    upstream.answers.set("/api/plans?x=1", 500);
    upstream.answers.set("/index.html", "hang");
    upstream.answers.set("/img/[1].png", 304);
    const before = Math.floor(Date.now() / 1000);
    const r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.equal(published(), TOP.map((uri) => `${uri}\n`).join(""));
    assert.equal(fs.statSync(at("www/okome/top-urls.txt")).mode & 0o777, 0o644);
    assert.deepEqual(
      warmed(),
      TOP.map((uri) => ({ path: uri, userAgent: UA })),
    );
    assert.deepEqual(maxTimes(), [1, 1, 1, 1]);
    assert.ok(r.ms < (TIMEOUT_S + 1) * 1000, `took ${r.ms} ms: the hang ends at the timeout`);
    assert.match(
      r.out,
      /^okome-prewarm: okome-edge: warmed 2 of 4 URLs \(2 failed, 0 left at the 10 s budget\) in \d+\.\d\d s\n$/,
    );
    const warnings = r.err.trim().split("\n");
    assert.deepEqual(warnings.slice(0, 2), [
      `okome-prewarm: ${NODE}: warning: 3 URIs of ${at("okome-access.log")} dropped: not a path, or whitespace or control characters in it`,
      `okome-prewarm: ${NODE}: warning: ${upstream.url("/api/plans?x=1")} not warmed: HTTP 500`,
    ]);
    assert.match(
      warnings[2],
      /^okome-prewarm: okome-edge: warning: http:.*\/index\.html not warmed: curl: \(28\) Operation timed out after 10\d\d milliseconds/,
    );
    assert.equal(warnings.length, 3, r.err);

    // The metrics, exactly, but for the duration and the time.
    const text = prom();
    const duration = Number(sample(text, "okome_prewarm_duration_seconds"));
    assert.ok(duration >= TIMEOUT_S && duration < TIMEOUT_S + 1, `duration ${duration}`);
    const last = Number(sample(text, "okome_prewarm_last_run_timestamp_seconds"));
    assert.ok(last >= before && last <= Date.now() / 1000, `last run ${last}`);
    assert.equal(
      text
        .replace(/(duration_seconds\{.*\}) \d+\.\d{3}$/m, "$1 D")
        .replace(/(timestamp_seconds\{.*\}) \d+$/m, "$1 T"),
      `# HELP okome_prewarm_urls_warmed URLs the last run warmed (answered 2xx or 304).
# TYPE okome_prewarm_urls_warmed gauge
okome_prewarm_urls_warmed{node="${NODE}"} 2
# HELP okome_prewarm_failures URLs the last run requested without a 2xx or 304 answer in time.
# TYPE okome_prewarm_failures gauge
okome_prewarm_failures{node="${NODE}"} 2
# HELP okome_prewarm_urls_left URLs of the last run's list not requested when its budget ran out.
# TYPE okome_prewarm_urls_left gauge
okome_prewarm_urls_left{node="${NODE}"} 0
# HELP okome_prewarm_duration_seconds How long the last run took.
# TYPE okome_prewarm_duration_seconds gauge
okome_prewarm_duration_seconds{node="${NODE}"} D
# HELP okome_prewarm_last_run_timestamp_seconds When the last run ended.
# TYPE okome_prewarm_last_run_timestamp_seconds gauge
okome_prewarm_last_run_timestamp_seconds{node="${NODE}"} T
# HELP okome_prewarm_upstream_down 1 when the last run warmed nothing because the upstream was DOWN.
# TYPE okome_prewarm_upstream_down gauge
okome_prewarm_upstream_down{node="${NODE}"} 0
`,
    );
    assert.deepEqual(fs.readdirSync(at("textfile")), ["okome_prewarm.prom"], "no temp file left");
    assert.deepEqual(fs.readdirSync(at("www/okome")), ["top-urls.txt"], "no temp file left");
  });

  it("warms nothing while the state file says DOWN or is missing, but publishes the list and writes the metrics", async () => {
    fs.writeFileSync(at("health_state.conf"), DOWN);
    let r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `okome-prewarm: ${NODE}: upstream DOWN: nothing warmed\n`);
    assert.deepEqual(upstream.seen, []);
    assert.equal(published(), TOP.map((uri) => `${uri}\n`).join(""));
    const text = prom();
    for (const [name, value] of Object.entries({
      okome_prewarm_urls_warmed: "0",
      okome_prewarm_failures: "0",
      okome_prewarm_urls_left: "0",
      okome_prewarm_upstream_down: "1",
    }))
      assert.equal(sample(text, name), value, name);
    assert.match(sample(text, "okome_prewarm_duration_seconds"), /^0\.\d{3}$/);

    fs.rmSync(at("health_state.conf"));
    fs.rmSync(at("www/okome/top-urls.txt"));
    r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      `okome-prewarm: ${NODE}: upstream DOWN: nothing warmed (${at("health_state.conf")} is missing)\n`,
    );
    assert.deepEqual(upstream.seen, []);
    assert.equal(published(), TOP.map((uri) => `${uri}\n`).join(""));
    assert.equal(sample(prom(), "okome_prewarm_upstream_down"), "1");
  });

  it("stops at the budget: caps the last request's timeout and counts the URLs left", async () => {
    for (const uri of TOP) upstream.answers.set(uri, "hang");
    writeEnv({ OKOME_PREWARM_TIMEOUT: 1.5, OKOME_PREWARM_BUDGET: 2 });
    const r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.ok(r.ms < 2500, `took ${r.ms} ms`);
    assert.deepEqual(
      warmed().map((request) => request.path),
      TOP.slice(0, 2),
    );
    const [first, second] = maxTimes();
    assert.equal(first, 1.5);
    assert.ok(second > 0.1 && second < 0.5, `the second request's --max-time is ${second}`);
    assert.match(
      r.out,
      /^okome-prewarm: okome-edge: warmed 0 of 4 URLs \(2 failed, 2 left at the 2 s budget\) in 2\.\d\d s\n$/,
    );
    assert.equal(sample(prom(), "okome_prewarm_urls_left"), "2");
    assert.equal(sample(prom(), "okome_prewarm_failures"), "2");
  });

  it("on the standby, warms and publishes the primary's list instead of its own log's", async () => {
    upstream.list =
      "/s/one.js\n/s/two.js\n/bad path\nrelative.js\n/s/three.js\n/s/four.js\n/s/five\n";
    writeEnv({ OKOME_PREWARM_SOURCE_URL: upstream.url(LIST_PATH) });
    const r = await prewarm();
    assert.equal(r.code, 0, r.err);
    const list = ["/s/one.js", "/s/two.js", "/s/three.js", "/s/four.js"];
    assert.deepEqual(upstream.seen, [
      { path: LIST_PATH, userAgent: UA },
      ...list.map((uri) => ({ path: uri, userAgent: UA })),
    ]);
    assert.equal(published(), list.map((uri) => `${uri}\n`).join(""));
    assert.match(r.out, /warmed 4 of 4 URLs \(0 failed, 0 left at the 10 s budget\)/);
    assert.equal(
      r.err,
      `okome-prewarm: ${NODE}: warning: 2 URIs of ${upstream.url(LIST_PATH)} dropped: not a path, or whitespace or control characters in it\n`,
    );
  });

  it("on the standby, warns and falls back to its own log when the primary's list is unreachable or missing", async () => {
    const gone = new Upstream();
    await gone.start();
    const unreachable = gone.url(LIST_PATH);
    await gone.close();
    writeEnv({ OKOME_PREWARM_SOURCE_URL: unreachable });
    let r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      new RegExp(
        `^okome-prewarm: ${NODE}: warning: the top list of ${unreachable} could not be fetched \\(curl: \\(7\\) Failed to connect .*\\), so the top of ${at("okome-access.log")} is warmed$`,
        "m",
      ),
    );
    assert.deepEqual(
      warmed().map((request) => request.path),
      TOP,
    );
    assert.equal(published(), TOP.map((uri) => `${uri}\n`).join(""));

    upstream.seen = [];
    upstream.answers.set(LIST_PATH, 404);
    writeEnv({ OKOME_PREWARM_SOURCE_URL: upstream.url(LIST_PATH) });
    r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /could not be fetched \(curl: \(22\) .*404\), so the top of /);
    assert.deepEqual(
      upstream.seen.map((request) => request.path),
      [LIST_PATH, ...TOP],
    );
  });

  it("names every wrong setting at once, and does nothing else", async () => {
    fs.appendFileSync(
      envFile(),
      "OKOME_NODE='a b'\nOKOME_PREWARM_TOP=0\nOKOME_PREWARM_BASE_URL=http://127.0.0.1:80/\n" +
        "OKOME_PREWARM_BUDGET=0.0\nOKOME_PREWARM_SOURCE_URL=ftp://10.86.0.20/top-urls.txt\n",
    );
    const r = await prewarm();
    assert.equal(r.code, 1);
    const env = envFile();
    assert.deepEqual(r.err.trim().split("\n"), [
      `okome-prewarm: ${env}: OKOME_NODE='a b' is not a node name`,
      `okome-prewarm: ${env}: OKOME_PREWARM_TOP='0' is not a count >= 1`,
      `okome-prewarm: ${env}: OKOME_PREWARM_BASE_URL='http://127.0.0.1:80/' is not an http(s) URL with no path`,
      `okome-prewarm: ${env}: OKOME_PREWARM_BUDGET='0.0' is not a number of seconds > 0`,
      `okome-prewarm: ${env}: OKOME_PREWARM_SOURCE_URL='ftp://10.86.0.20/top-urls.txt' is not empty (the primary) or an http(s) URL`,
    ]);
    assert.equal(r.out, "");
    assert.deepEqual(upstream.seen, []);
    assert.ok(!fs.existsSync(at("www")), "nothing published");
    assert.ok(!fs.existsSync(at("textfile")), "no metrics");
  });

  it("waits for a run that holds the lock", async () => {
    fs.mkdirSync(at("www/okome"), { recursive: true });
    const holder = spawn("flock", [at("www/okome"), "-c", "echo locked; sleep 1"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const released = new Promise((resolve) => holder.once("close", resolve));
    await new Promise((resolve) => holder.stdout.once("data", resolve));
    const r = await prewarm();
    assert.equal(r.code, 0, r.err);
    assert.ok(r.ms >= 800, `took ${r.ms} ms: it did not wait`);
    assert.equal(warmed().length, 4);
    await released;
  });
});
