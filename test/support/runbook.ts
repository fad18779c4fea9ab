/**
 * The SRE runbook (docs/06_SRE_RUNBOOK.md) as data: its incidents, their sections, and the
 * diagnosis steps a lab run checks while the matching okome-chaos drill is in (and while the tier
 * is healthy). The format is described at the top of the runbook; in short:
 *
 *   ## 2. Redis unavailable (`incident=redis-unavailable`)
 *   ### Diagnose
 *   ```sh runbook-drill redis-stop node=model within=5
 *   systemctl is-active redis-server
 *   ```
 *   Expected: `^inactive$`
 *
 * `runbook-healthy node=...` blocks are the same without a drill. Pure parsing: {@link parseRunbook}
 * reads text and names the line of whatever is malformed; the helpers below read the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "../..");
export const RUNBOOK = path.join(REPO, "docs", "06_SRE_RUNBOOK.md");
const CHAOS_SCRIPT = path.join(REPO, "assets", "scripts", "okome-chaos.sh");

/** The node a step runs on: the edge Pi or the model Pi (which also runs the standby edge). */
export type RunbookNode = "edge" | "model";
export const RUNBOOK_NODES: readonly RunbookNode[] = ["edge", "model"];

/** The sections every incident has, by their `###` heading. */
export const INCIDENT_SECTIONS = [
  "Detect",
  "Diagnose",
  "Fix",
  "Roll back",
  "Confirm recovery",
] as const;

/** Seconds a step may take to show its expectation when the block says no `within=`. */
export const DEFAULT_WITHIN_SECONDS = 5;

/** One checkable step: a shell script run on a node, and what its output must match. */
export interface RunbookStep {
  /** The incident's slug, as the alerts' `incident` label names it (`redis-unavailable`). */
  readonly incident: string;
  /** The node to run it on, over SSH as the deploy user (sudo works without a password). */
  readonly node: RunbookNode;
  /** The block's lines, run as one shell script. */
  readonly command: string;
  /**
   * Must match the script's stdout and stderr together, whatever its exit status (a stopped
   * unit makes `systemctl is-active` exit 3). Multiline: `^` and `$` match at line ends.
   */
  readonly expect: RegExp;
  /**
   * The expectation may take this long after the fault is in (the health probe's hysteresis, a
   * VRRP takeover): rerun the script until it matches or this many seconds have passed.
   */
  readonly withinSeconds: number;
  /** The line of the block's opening fence, for messages. */
  readonly line: number;
}

/** A step checked while the okome-chaos scenario `drill` is injected. */
export interface DrillStep extends RunbookStep {
  readonly drill: string;
}

/** A step checked while the tier is healthy and no drill is active. */
export type HealthyStep = RunbookStep;

/** One `## N. Title (`incident=slug`)` section. */
export interface Incident {
  readonly number: number;
  readonly title: string;
  readonly slug: string;
  readonly line: number;
  /** Its `###` headings, each with the line it starts on. */
  readonly sections: ReadonlyMap<string, number>;
  /** Alert names (`OkomeRedisDown`) the incident's text mentions, each once, in order. */
  readonly alerts: readonly string[];
  /** The incident's lines, heading included. */
  readonly text: string;
}

export interface Runbook {
  readonly incidents: readonly Incident[];
  readonly drillSteps: readonly DrillStep[];
  readonly healthySteps: readonly HealthyStep[];
  /** Every alert name the whole runbook mentions, with the first line naming it. */
  readonly alerts: ReadonlyMap<string, number>;
}

const INCIDENT_HEADING = /^## (\d+)\. (.+?) \(`incident=([a-z0-9-]+)`\)\s*$/;
/** A fence's opening line; a backtick fence's info string has no backtick (CommonMark). */
const FENCE = /^(\s*)(`{3,}(?=[^`]*$)|~{3,})(.*)$/;
const ALERT_NAME = /\bOkome[A-Z][A-Za-z0-9]*\b/g;
const DRILL_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const EXPECTED = /^Expected: `([^`]+)`/;

/** A block's info string, when it is one of the runbook's checked blocks. */
interface CheckInfo {
  readonly drills: readonly string[] | undefined;
  readonly node: RunbookNode;
  readonly withinSeconds: number;
}

/**
 * The info string of a checked block (`sh runbook-drill a,b node=edge within=10` or
 * `sh runbook-healthy node=model`), undefined for any other block. Throws naming what is wrong.
 */
function parseInfo(info: string, where: string): CheckInfo | undefined {
  const words = info.trim().split(/\s+/);
  const kind = words[1];
  if (kind !== "runbook-drill" && kind !== "runbook-healthy") {
    if (words.some((w) => w.startsWith("runbook-")))
      throw new Error(
        `${where}: "${info.trim()}": a checked block is \`sh runbook-drill DRILLS node=edge|model\` or \`sh runbook-healthy node=edge|model\``,
      );
    return undefined;
  }
  if (words[0] !== "sh") throw new Error(`${where}: a ${kind} block is \`sh\`, not "${words[0]}"`);
  let rest = words.slice(2);
  let drills: string[] | undefined;
  if (kind === "runbook-drill") {
    if (rest.length === 0 || rest[0].includes("="))
      throw new Error(
        `${where}: runbook-drill names no drill (runbook-drill nginx-stop node=edge)`,
      );
    drills = rest[0].split(",");
    for (const drill of drills)
      if (!DRILL_NAME.test(drill))
        throw new Error(`${where}: "${drill}" is not a drill name (an okome-chaos scenario)`);
    rest = rest.slice(1);
  }
  const attributes = new Map<string, string>();
  for (const word of rest) {
    const m = /^([a-z]+)=(.*)$/.exec(word);
    if (!m || !["node", "within"].includes(m[1]))
      throw new Error(`${where}: "${word}" is not node=edge|model or within=SECONDS`);
    if (attributes.has(m[1])) throw new Error(`${where}: ${m[1]}= is given twice`);
    attributes.set(m[1], m[2]);
  }
  const node = attributes.get("node");
  if (node === undefined) throw new Error(`${where}: ${kind} has no node=edge|model`);
  if (!(RUNBOOK_NODES as readonly string[]).includes(node))
    throw new Error(`${where}: node=${node}: the node is edge or model`);
  const within = attributes.get("within");
  if (within !== undefined && !/^[1-9][0-9]*$/.test(within))
    throw new Error(`${where}: within=${within}: a whole number of seconds >= 1`);
  return {
    drills,
    node: node as RunbookNode,
    withinSeconds: within === undefined ? DEFAULT_WITHIN_SECONDS : Number(within),
  };
}

/**
 * The runbook's incidents and checked steps. `file` only names the source in messages. Throws at
 * the first malformed checked block or incident heading, naming its line.
 */
export function parseRunbook(text: string, file = "docs/06_SRE_RUNBOOK.md"): Runbook {
  const lines = text.split("\n");
  const incidents: {
    number: number;
    title: string;
    slug: string;
    line: number;
    sections: Map<string, number>;
    start: number;
    end: number;
  }[] = [];
  const drillSteps: DrillStep[] = [];
  const healthySteps: HealthyStep[] = [];
  const alerts = new Map<string, number>();
  const current = () => incidents[incidents.length - 1];

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `${file}:${i + 1}`;
    const fence = FENCE.exec(line);
    if (fence) {
      const [, indent, marker, info] = fence;
      const check = parseInfo(info, where);
      // The block's end: the same fence character, at least as long, nothing after it.
      const close = new RegExp(`^\\s*${marker[0]}{${marker.length},}\\s*$`);
      let end = i + 1;
      while (end < lines.length && !close.test(lines[end])) end++;
      if (end === lines.length) throw new Error(`${where}: this code block is never closed`);
      const body = lines.slice(i + 1, end);
      for (const [k, l] of body.entries())
        for (const m of l.matchAll(ALERT_NAME)) if (!alerts.has(m[0])) alerts.set(m[0], i + 2 + k);
      if (check) {
        const incident = current();
        if (!incident || incident.end !== -1)
          throw new Error(`${where}: a checked block outside any incident (## N. Title ...)`);
        const command = body
          .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
          .join("\n")
          .trim();
        if (command === "") throw new Error(`${where}: the checked block has no command`);
        let next = end + 1;
        while (next < lines.length && lines[next].trim() === "") next++;
        const expected = EXPECTED.exec(lines[next]?.trim() ?? "");
        if (!expected)
          throw new Error(
            `${where}: the checked block is not followed by "Expected: \`REGEX\`" (line ${next + 1}: "${lines[next] ?? "end of file"}")`,
          );
        const compile = (source: string) => {
          try {
            return new RegExp(source, "m");
          } catch (e) {
            throw new Error(`${file}:${next + 1}: Expected: ${(e as Error).message}`);
          }
        };
        const step = {
          incident: incident.slug,
          node: check.node,
          command,
          withinSeconds: check.withinSeconds,
          line: i + 1,
        };
        if (check.drills === undefined)
          healthySteps.push({ ...step, expect: compile(expected[1]) });
        else
          for (const drill of check.drills) {
            // {drill} stands for the drill's name (letters, digits and dashes: literal in a regex).
            const source = expected[1].replaceAll("{drill}", drill);
            drillSteps.push({ ...step, drill, expect: compile(source) });
          }
      }
      i = end;
      continue;
    }
    for (const m of line.matchAll(ALERT_NAME)) if (!alerts.has(m[0])) alerts.set(m[0], i + 1);
    if (line.startsWith("## ")) {
      const open = current();
      if (open && open.end === -1) open.end = i;
      const heading = INCIDENT_HEADING.exec(line);
      if (heading) {
        const number = Number(heading[1]);
        if (incidents.some((x) => x.slug === heading[3]))
          throw new Error(`${where}: incident ${heading[3]} has a section already`);
        incidents.push({
          number,
          title: heading[2],
          slug: heading[3],
          line: i + 1,
          sections: new Map(),
          start: i,
          end: -1,
        });
      } else if (/^## \d+\./.test(line))
        throw new Error(`${where}: an incident heading is "## N. Title (\`incident=slug\`)"`);
    } else if (line.startsWith("### ")) {
      const incident = current();
      if (incident && incident.end === -1) {
        const name = line.slice(4).trim();
        if (incident.sections.has(name))
          throw new Error(`${where}: incident ${incident.slug} has a "${name}" section already`);
        incident.sections.set(name, i + 1);
      }
    }
  }
  const last = current();
  if (last && last.end === -1) last.end = lines.length;

  return {
    incidents: incidents.map(({ start, end, ...incident }) => {
      const body = lines.slice(start, end).join("\n");
      return {
        ...incident,
        alerts: [...new Set([...body.matchAll(ALERT_NAME)].map((m) => m[0]))],
        text: body,
      };
    }),
    drillSteps,
    healthySteps,
    alerts,
  };
}

/** The runbook as it is in the repo (docs/06_SRE_RUNBOOK.md). */
export function readRunbook(file = RUNBOOK): Runbook {
  return parseRunbook(fs.readFileSync(file, "utf8"), path.relative(REPO, file));
}

/**
 * The diagnosis steps to check while okome-chaos scenario `drill` is injected, in runbook order.
 * Empty when the runbook has none for it. For the lab's chaos test:
 *
 *   for (const step of runbookDrillSteps("redis-stop")) { ... run step.command on step.node,
 *     retrying for step.withinSeconds, and assert step.expect matches stdout + stderr ... }
 */
export function runbookDrillSteps(drill: string): DrillStep[] {
  return readRunbook().drillSteps.filter((s) => s.drill === drill);
}

/** The steps whose expectation holds on a healthy tier with no drill active. */
export function runbookHealthySteps(): HealthyStep[] {
  return [...readRunbook().healthySteps];
}

/** "docs/06_SRE_RUNBOOK.md:123 (redis-unavailable, on model)": where a step comes from. */
export function describeStep(step: RunbookStep): string {
  return `${path.relative(REPO, RUNBOOK)}:${step.line} (${step.incident}, on ${step.node})`;
}

/** okome-chaos's scenarios, from the script's own `scenarios=(...)` list. */
export function chaosScenarios(script = CHAOS_SCRIPT): string[] {
  const m = /^scenarios=\(([^)]*)\)$/m.exec(fs.readFileSync(script, "utf8"));
  if (!m) throw new Error(`${script}: no scenarios=(...) line`);
  return m[1].trim().split(/\s+/);
}
