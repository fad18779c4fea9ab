import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

// The board must import as is (Dashboards > Import asks for the one datasource input) and show
// the panels issue 15 asks for. Its metric names: metricNames.test.ts.
const BOARD = path.join(__dirname, "..", "..", "assets", "dashboards", "grafana", "okome-cache-hitmiss.json"); // prettier-ignore
const DS = { type: "prometheus", uid: "${DS_PROMETHEUS}" };

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: { datasource?: unknown; expr?: string }[];
}

describe("Grafana board okome-cache-hitmiss.json", () => {
  const board = JSON.parse(fs.readFileSync(BOARD, "utf8")) as {
    __inputs: { name: string; type: string; pluginId: string }[];
    uid: string;
    panels: Panel[];
  };

  it("asks for one Prometheus datasource on import, and every query uses it", () => {
    assert.deepEqual(
      board.__inputs.map((i) => [i.name, i.type, i.pluginId]),
      [["DS_PROMETHEUS", "datasource", "prometheus"]],
    );
    for (const panel of board.panels.filter((p) => p.targets)) {
      assert.deepEqual(panel.datasource, DS, panel.title);
      for (const target of panel.targets!) assert.deepEqual(target.datasource, DS, panel.title);
    }
  });

  it("has unique panel ids and the panels of the issue", () => {
    const ids = board.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    const titles = board.panels.filter((p) => p.type !== "row").map((p) => p.title);
    assert.deepEqual(titles, [
      "Edge hit ratio",
      "Requests by cache status",
      "Upstream health (as each edge routes)",
      "Health probe duration",
      "VIP holder",
      "VIP transitions",
      "Redis memory",
      "Redis evictions",
      "Redis hit ratio",
      "Redis connected clients",
      // 429s by zone and the library's BYPASS rate: not exported yet (docs/DECISIONS.md).
      "Not on this board yet",
    ]);
  });
});
