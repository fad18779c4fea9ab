/**
 * Metric names: those the tier exports (the *.prom files its host scripts write, and the
 * exporters' names recorded in assets/prometheus/exporter-metrics.txt), and those a PromQL
 * expression reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

const REPO = path.resolve(__dirname, "../..");
const SCRIPTS = path.join(REPO, "assets", "scripts");
export const EXPORTER_METRICS = path.join(REPO, "assets", "prometheus", "exporter-metrics.txt");

/**
 * Names the host scripts write for the node exporter's textfile collector, by script: each
 * metric a script writes has a `# TYPE` line (the exposition format wants one before its samples).
 */
export function textfileMetrics(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of fs.readdirSync(SCRIPTS).filter((f) => f.endsWith(".sh"))) {
    const text = fs.readFileSync(path.join(SCRIPTS, file), "utf8");
    for (const m of text.matchAll(/# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:gauge|counter|untyped)\b/g))
      names.set(m[1], file);
  }
  return names;
}

/** exporter-metrics.txt: metric name -> the `[source]` section that lists it. */
export function exporterMetrics(): Map<string, string> {
  const names = new Map<string, string>();
  let source: string | undefined;
  for (const [i, raw] of fs.readFileSync(EXPORTER_METRICS, "utf8").split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) source = section[1];
    else if (!source || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(line))
      throw new Error(`${EXPORTER_METRICS}:${i + 1}: not a metric name in a [source]: "${line}"`);
    else names.set(line, source);
  }
  return names;
}

/** Words of PromQL that look like names but are not metrics. */
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end"]);

/**
 * The metric names an expression reads. Not a full PromQL parser: it drops what can hold
 * other words (strings, label matchers, ranges, label lists, Grafana's $variables), then keeps
 * every remaining name that is neither a keyword nor called as a function.
 */
export function promqlMetricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\b/g, " ")
    .replace(/\boffset\s+-?\w+/g, " ");
  const names = new Set<string>();
  // Not after a digit or a dot: the exponent of 1e3 or the unit of 5m is no name.
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g))
    if (!m[2] && !KEYWORDS.has(m[1].toLowerCase())) names.add(m[1]);
  return [...names];
}

const BOARD = path.join(REPO, "assets", "dashboards", "grafana", "okome-cache-hitmiss.json");
const RULES = path.join(REPO, "assets", "prometheus", "okome-alerts.yml");

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every query of the board, rows' panels included, by panel title. */
export function boardExpressions(): [string, string][] {
  const board = JSON.parse(fs.readFileSync(BOARD, "utf8")) as { panels: Panel[] };
  const all = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...all(p.panels ?? [])]);
  return all(board.panels).flatMap((p) =>
    (p.targets ?? []).map((t): [string, string] => [`board panel "${p.title}"`, t.expr ?? ""]),
  );
}

/** Every rule's expression, by alert name. */
export function ruleExpressions(): [string, string][] {
  const rules = load(fs.readFileSync(RULES, "utf8")) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((g) =>
    g.rules.map((r): [string, string] => [`rule ${r.alert ?? r.record}`, r.expr]),
  );
}

/** The metric names of a Prometheus text exposition (its `# TYPE` lines). */
export function exposedMetricNames(exposition: string): string[] {
  return [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
}
