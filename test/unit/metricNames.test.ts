import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  EXPORTER_METRICS,
  boardExpressions,
  exporterMetrics,
  promqlMetricNames,
  ruleExpressions,
  textfileMetrics,
} from "../support/metricNames";

// Every metric the Grafana board and the alert rules read must be one the tier exports: a name
// that nothing exports gives an empty panel and an alert that never fires, silently.
const REPO = path.join(__dirname, "..", "..");
describe("metric names: what the board and the alerts read is what the tier exports", () => {
  const exported = new Map([...exporterMetrics(), ...textfileMetrics()]);

  it("reads the names from the host scripts and the exporters' list", () => {
    const textfile = textfileMetrics();
    for (const name of ["okome_health_upstream_up", "okome_edge_hit_ratio", "okome_vip_master"])
      assert.ok(textfile.has(name), `${name} is written by a script in assets/scripts`);
    const sources = new Set(exporterMetrics().values());
    assert.deepEqual([...sources].sort(), [
      "prometheus",
      "prometheus-nginx-exporter",
      "prometheus-node-exporter",
      "prometheus-redis-exporter",
    ]);
  });

  it("finds the metrics of a PromQL expression, not its functions, labels or durations", () => {
    const expr = `sum by (node, cache_status) (rate(okome_edge_requests{cache_status=~"MISS|x_y"}[5m]))
      / on (node) group_left max without (job) (a:b_total offset 1h) > bool 1e3
      and histogram_quantile(0.9, c_bucket[$__rate_interval]) unless time() - d_seconds[1m:10s]`;
    assert.deepEqual(promqlMetricNames(expr).sort(), [
      "a:b_total",
      "c_bucket",
      "d_seconds",
      "okome_edge_requests",
    ]);
  });

  for (const [what, read] of [
    ["the Grafana board", boardExpressions],
    ["the alert rules", ruleExpressions],
  ] as const)
    it(`${what} read only exported metrics`, () => {
      const expressions = read();
      assert.ok(expressions.length >= 8, `${what} has expressions (${expressions.length})`);
      const unknown = expressions.flatMap(([where, expr]) => {
        const names = promqlMetricNames(expr);
        assert.ok(names.length > 0, `${where} reads no metric: ${expr}`);
        return names.filter((n) => !exported.has(n)).map((n) => `${where}: ${n}`);
      });
      assert.deepEqual(
        unknown,
        [],
        `not exported by the tier (assets/scripts' # TYPE lines, ${path.relative(REPO, EXPORTER_METRICS)})`,
      );
    });
});
