/**
 * Where a `pulumi up --refresh` spends its time, from the engine's own log (`-v=7
 * --logtostderr`: one JSON object per line with its time). Pure: bench/converge.ts runs the
 * command and prints what this returns. The log costs some time itself, so the phases are
 * shares of a slower run, not the bench's medians.
 */

/** One stretch of the run, in order. */
export interface Phase {
  readonly name: string;
  readonly ms: number;
}

/** The phases, and the per-call figures of the provider's reads and diffs. */
export interface Breakdown {
  readonly phases: Phase[];
  readonly reads: number;
  /** Median of one ConfigSet read, from the engine's call to its answer (one SSH round trip). */
  readonly readMedianMs: number;
  /** The first ConfigSet read: it loads impl.ts through tsx in the provider process. */
  readonly firstReadMs: number;
  /** From the first SecretPassword read's call to the last one's answer. */
  readonly secretReadsMs: number;
  readonly diffs: number;
  readonly diffMedianMs: number;
}

interface Entry {
  readonly t: number;
  readonly msg: string;
}

const median = (xs: readonly number[]) =>
  xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The engine's log lines that are JSON with a time and a message. */
function entries(log: string): Entry[] {
  const out: Entry[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const { time, msg } = JSON.parse(line) as { time?: string; msg?: string };
      if (time && typeof msg === "string") out.push({ t: Date.parse(time), msg });
    } catch {
      // A line the engine split: not an event.
    }
  }
  return out;
}

/** Call-to-answer durations of a provider method, per resource URN, in call order. */
function calls(
  log: Entry[],
  method: "Read" | "Diff",
): { urn: string; start: number; end: number }[] {
  // Read(id,urn) executing | success; Diff(urn,id): executing | success
  const call = new RegExp(`^Provider\\[[^\\]]+\\]\\.${method}\\(([^)]*)\\):? (executing|success)`);
  const open = new Map<string, number>();
  const done: { urn: string; start: number; end: number }[] = [];
  for (const e of log) {
    const m = call.exec(e.msg);
    if (!m) continue;
    const urn = m[1].split(",").find((part) => part.startsWith("urn:")) ?? m[1];
    if (m[2] === "executing") open.set(urn, e.t);
    else if (open.has(urn)) done.push({ urn, start: open.get(urn)!, end: e.t });
  }
  return done.sort((a, b) => a.start - b.start);
}

/** The breakdown of one `pulumi up --refresh` whose stderr is `log`. */
export function breakdown(log: string): Breakdown {
  const all = entries(log);
  if (all.length === 0) throw new Error("no JSON log lines: run pulumi with -v=7 --logtostderr");
  const at = (pattern: RegExp, what: string) => {
    const e = all.find((x) => pattern.test(x.msg));
    if (!e) throw new Error(`the engine's log has no ${what}`);
    return e.t;
  };
  const reads = calls(all, "Read");
  const diffs = calls(all, "Diff");
  if (reads.length === 0)
    throw new Error("the engine's log has no provider Read: was --refresh given?");
  const configSetReads = reads.filter((r) => r.urn.includes("okome:ConfigSet"));
  const secretReads = reads.filter((r) => r.urn.includes("okome:SecretPassword"));
  const start = all[0].t;
  const refreshStart = reads[0].start;
  const refreshEnd = Math.max(...reads.map((r) => r.end));
  const stackRegistered = at(
    /^ResourceMonitor\.RegisterResource received: t=pulumi:pulumi:Stack/,
    "stack registration",
  );
  const firstComponent = at(
    /^ResourceMonitor\.RegisterResource received: t=okome:/,
    "component registration",
  );
  const stepsDone = at(/step executor has completed/, "end of the steps");
  const end = all[all.length - 1].t;
  return {
    phases: [
      {
        name: "engine start: CLI, state, language host, provider processes",
        ms: refreshStart - start,
      },
      { name: `refresh: ${reads.length} reads, in parallel`, ms: refreshEnd - refreshStart },
      { name: "program start: node, ts-node, @pulumi/pulumi", ms: stackRegistered - refreshEnd },
      {
        name: "program run: our modules, stack config checks",
        ms: firstComponent - stackRegistered,
      },
      { name: `registrations, checks and ${diffs.length} diffs`, ms: stepsDone - firstComponent },
      { name: "finish: outputs, state saved, exit", ms: end - stepsDone },
    ],
    reads: reads.length,
    readMedianMs: median(configSetReads.map((r) => r.end - r.start)),
    firstReadMs: configSetReads.length ? configSetReads[0].end - configSetReads[0].start : 0,
    secretReadsMs: secretReads.length
      ? Math.max(...secretReads.map((r) => r.end)) - Math.min(...secretReads.map((r) => r.start))
      : 0,
    diffs: diffs.length,
    diffMedianMs: median(diffs.map((d) => d.end - d.start)),
  };
}
