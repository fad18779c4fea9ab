import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

// The example Prometheus config and the alert rules, checked by Prometheus' own promtool (Debian's
// prometheus package, scripts/install-system-packages.sh): PromQL that does not parse, a bad
// duration or a rule file the config cannot find fails here, not on the operator's Prometheus.
const DIR = path.join(__dirname, "..", "..", "assets", "prometheus");

function promtool(...args: string[]): { code: number; output: string } {
  const r = spawnSync("promtool", args, { cwd: DIR, encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT")
    assert.fail(
      "promtool is missing: install Debian's prometheus package (bash scripts/install-system-packages.sh)",
    );
  if (r.error) throw r.error;
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

describe("assets/prometheus: promtool", () => {
  it("okome-alerts.yml passes promtool check rules", () => {
    const r = promtool("check", "rules", "okome-alerts.yml");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /SUCCESS: \d+ rules found/);
  });

  it("prometheus.yml passes promtool check config, its rule file included", () => {
    const r = promtool("check", "config", "prometheus.yml");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /SUCCESS: 1 rule files found/);
  });
});
