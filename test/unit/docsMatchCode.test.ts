import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  NOT_METRICS,
  checkRefs,
  commandNames,
  docFiles,
  extractRefs,
  loadKnownRefs,
} from "../support/docsRefs";

// What README.md and docs/*.md name must exist: npm scripts, the okome-* commands on the hosts,
// repo files, stack keys and metrics. A rename in the code that the docs did not follow fails
// here, naming the doc's file and line.
const REPO = path.join(__dirname, "..", "..");

/** By line number, then as text. */
const byLine = (a: string, b: string) => parseInt(a) - parseInt(b) || a.localeCompare(b);

describe("docs match the code", () => {
  const known = loadKnownRefs();

  it("every reference of README.md and docs/*.md names something the repo has", () => {
    const problems = docFiles().flatMap((file) =>
      checkRefs(fs.readFileSync(path.join(REPO, file), "utf8"), file, known),
    );
    assert.deepEqual(problems, [], `\n${problems.join("\n")}\n`);
  });

  it("reads README.md and every docs/*.md, including ones added later", () => {
    const files = docFiles();
    const onDisk = fs
      .readdirSync(path.join(REPO, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`);
    assert.deepEqual(files, ["README.md", ...onDisk.sort()]);
    assert.ok(files.includes("docs/06_SRE_RUNBOOK.md") && files.includes("docs/CHAOS.md"));
  });

  it("knows the installed commands, the npm scripts, the stack keys and the metrics", () => {
    for (const name of [
      "okome-chaos",
      "okome-validate",
      "okome-verify",
      "okome-hit-ratio",
      "okome-health-probe",
      "okome-vip-notify",
      "okome-host-report",
    ])
      assert.ok(known.installed.has(name), `${name} is installed by a component`);
    assert.ok(!known.installed.has("okome-cache"));
    for (const script of ["validate", "doctor", "lab:up"]) assert.ok(known.npmScripts.has(script));
    for (const key of ["vip", "redisBind", "chaosEnabled", "vipPreemptDelaySeconds"])
      assert.ok(known.stackKeys.has(key), key);
    for (const metric of ["okome_vip_master", "redis_up", "nginx_up", "node_load1"])
      assert.ok(known.metrics.has(metric), metric);
  });

  it("keeps its list of non-metric names true: each is in the file it names, and no metric", () => {
    for (const [name, file] of NOT_METRICS) {
      assert.ok(
        fs.readFileSync(path.join(REPO, file), "utf8").includes(name),
        `${name} in ${file}`,
      );
      assert.ok(!known.metrics.has(name), `${name} is a metric`);
    }
    // Names the rendered configs give: an nginx zone, a VRRP script, a cookie.
    for (const name of ["okome_ui", "okome_edge_check", "okome_cache"])
      assert.ok(known.notMetrics.has(name), name);
  });

  it("finds a command's name after sudo, pipes, $( and assignments, not its arguments", () => {
    assert.deepEqual(commandNames("sudo -n okome-chaos status  # what is active"), ["okome-chaos"]);
    assert.deepEqual(commandNames("journalctl -t okome-vip | grep -c MASTER && okome-validate"), [
      "journalctl",
      "grep",
      "okome-validate",
    ]);
    assert.deepEqual(commandNames('vip=$(sed -n "s/x//p" f) curl "http://$vip/"'), ["sed", "curl"]);
    assert.deepEqual(commandNames("$ sudo -u okome okome-verify"), ["okome-verify"]);
  });

  it("reports a renamed script, a deleted file, a removed stack key and a misspelt metric, by line", () => {
    const doc = [
      "# Doc",
      "",
      "Run `sudo okome-verfy` on the edge, then `npm run lab:upp`.",
      "",
      "```sh",
      "sudo okome-hit-ratios --window 60",
      "bash scripts/no-such-script.sh",
      "```",
      "",
      "The probe (`okome-helth-probe.timer`) writes `okome_vip_mastr` and `redis_upp 0`.",
      "See `assets/scripts/gone.sh` and `docs/NOPE.md`.",
      "Set `okome-cache:redisBindd`, or the stack flag `chaosEnable`.",
      "",
      "| key | default |",
      "|---|---|",
      "| `nopeKey` | 1 |",
      "",
      "Metrics okome_healthx_* and the `components/nope/*.ts` files.",
    ].join("\n");
    const found = checkRefs(doc, "X.md", known).map((p) =>
      /^X\.md:(\d+): (\S+) `([^`]+)`/.exec(p)!,
    );
    assert.deepEqual(
      found.map(([, line, kind, value]) => `${line} ${kind} ${value}`).sort(byLine),
      [
        "3 command okome-verfy",
        "3 npm-script lab:upp",
        "6 command okome-hit-ratios",
        "7 path scripts/no-such-script.sh",
        "10 name okome-helth-probe",
        "10 metric okome_vip_mastr",
        "10 metric redis_upp",
        "11 path assets/scripts/gone.sh",
        "11 path docs/NOPE.md",
        "12 stack-key redisBindd",
        "12 stack-key chaosEnable",
        "16 stack-key nopeKey",
        "18 metric okome_healthx_*",
        "18 path components/nope/*.ts",
      ].sort(byLine),
    );
  });

  it("reads real references of every kind without reporting them", () => {
    const doc = [
      "`sudo okome-validate`, `okome-hit-ratio --window 300`, `npm run validate -- --stack prod`.",
      "",
      "```sh",
      "sudo okome-chaos status  # what is active",
      "journalctl -t okome-vip -n 3",
      "systemctl start okome-prewarm",
      "vip=$(sed -n 's/^OKOME_VIP=//p' /etc/okome/vip.env)",
      "bash scripts/lab-deploy.sh",
      "```",
      "",
      "`okome-health-probe.timer`, `okome-chaos-undo-<scenario>`, `LABEL=okome-root`,",
      "`/var/log/nginx/okome-access.log`, `~/.okome/lab/hosts.json`, `okome-edge`.",
      "`okome_health_*` metrics in `/run/okome/textfile/okome_health.prom`, `$okome_upstream_pool`,",
      "the `okome_cache` cookie, nft table `inet okome_chaos`, redis_exporter, `node_modules/.bin`.",
      "`assets/templates/<service>/`, `assets/scripts/*.sh`, `test/lab/...`, `components/`, `docs/CHAOS.md`.",
      "`okome-cache:redisExtraOptions[1]`, the stack key `chaosEnabled`.",
      "",
      "| key | default |",
      "|---|---|",
      "| `redisBind`, `redisPort` | x |",
      "",
      '`okome_vip_master{node="okome-edge"} 1`, `node_textfile_mtime_seconds{file=~".*/okome_health[.]prom"}`',
    ].join("\n");
    const refs = extractRefs(doc);
    const kinds = (kind: string) => refs.filter((r) => r.kind === kind).map((r) => r.value);
    assert.deepEqual(kinds("command"), ["okome-validate", "okome-hit-ratio", "okome-chaos"]);
    assert.deepEqual(kinds("npm-script"), ["validate"]);
    assert.deepEqual(kinds("stack-key"), [
      "redisExtraOptions",
      "chaosEnabled",
      "redisBind",
      "redisPort",
    ]);
    assert.ok(
      kinds("metric").includes("okome_health_*") && kinds("metric").includes("okome_cache"),
    );
    assert.ok(
      !kinds("metric").includes("okome_health") && !kinds("metric").includes("node_modules"),
    );
    assert.ok(kinds("path").includes("scripts/lab-deploy.sh"));
    assert.ok(kinds("name").includes("okome-chaos-undo") && kinds("name").includes("okome-vip"));
    assert.deepEqual(checkRefs(doc, "Y.md", known), []);
  });

  it("expands brace lists in paths, and reads a seed map's first column as the seed's paths", () => {
    const doc = [
      "`assets/templates/systemd/okome-prewarm.{service,timer}.mustache`",
      "`assets/templates/systemd/okome-prewarm.{service,nope}.mustache`",
      "",
      "| seed path | here |",
      "|---|---|",
      "| `scripts/install_frontend_cache.sh` | `assets/scripts/gone.sh` |",
      "",
      "`scripts/install_frontend_cache.sh` outside the seed table",
    ].join("\n");
    assert.deepEqual(checkRefs(doc, "Z.md", known).sort(byLine), [
      "Z.md:2: path `assets/templates/systemd/okome-prewarm.nope.mustache`: no such file in the repo",
      "Z.md:6: path `assets/scripts/gone.sh`: no such file in the repo",
      "Z.md:8: path `scripts/install_frontend_cache.sh`: no such file in the repo",
    ]);
  });
});
