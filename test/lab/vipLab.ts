/**
 * What the VIP tests and the failover benchmark share: a watcher that asks the VIP who answers,
 * every 20 ms, over a new connection each time (so a moved VIP is seen at once).
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { promisify } from "node:util";
import { LabHost, onHostAsync } from "../support/lab";

export const VIP = "10.86.0.18";

/**
 * nginx's master and workers, killed by pid: under nspawn systemd cannot signal a whole cgroup,
 * and a surviving worker would keep the port.
 */
export const KILL_NGINX =
  "m=$(systemctl show -p MainPID --value nginx) && sudo -n kill -KILL $m $(ps -o pid= --ppid $m)";

/** One probe: when it was sent (ms since the epoch) and the node that answered (null: none). */
export interface Sample {
  readonly at: number;
  /** Undefined until the probe settles: every one has after stop(). */
  node?: string | null;
}

/** The node answering the VIP's health location, or null when nothing answers within `ms`. */
export function whoAnswers(ms = 250): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get(`http://${VIP}/__okome/health`, { agent: false, timeout: ms }, (res) => {
      res.resume();
      const node = res.headers["x-okome-node"];
      resolve(res.statusCode === 200 && typeof node === "string" ? node : null);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a probe to the VIP every `intervalMs` until stopped, each on its own (a probe lost in a
 * failover times out without delaying the next), and keeps every sample in the order sent.
 */
export class VipWatch {
  readonly samples: Sample[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly intervalMs = 20) {
    this.timer = setInterval(() => this.probe(), intervalMs);
  }

  private probe(): void {
    const sample: Sample = { at: Date.now() };
    this.samples.push(sample);
    const done = whoAnswers(2000).then((node) => {
      sample.node = node;
      this.pending.delete(done);
    });
    this.pending.add(done);
  }

  /** Resolves once `node` has answered `times` probes in a row; throws after `timeoutMs`. */
  async waitFor(node: string, timeoutMs: number, times = 3): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = this.samples.filter((s) => s.node !== undefined).slice(-times);
      if (last.length === times && last.every((s) => s.node === node)) return;
      await sleep(this.intervalMs);
    }
    const settled = this.samples.filter((s) => s.node !== undefined);
    const last = settled.at(-1)?.node ?? "nothing";
    throw new Error(`the VIP did not answer from ${node} within ${timeoutMs} ms (last: ${last})`);
  }

  async stop(): Promise<Sample[]> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
    return this.samples;
  }
}

/**
 * The failed-request window of a failover from `from` to `to`: from the last answer of `from`
 * to the first answer of `to` after it, in ms.
 */
export function failoverWindow(samples: readonly Sample[], from: string, to: string): number {
  const first = samples.findIndex((s) => s.node === to);
  if (first < 0) throw new Error(`${to} never answered`);
  const before = samples
    .slice(0, first)
    .reverse()
    .find((s) => s.node === from);
  if (before === undefined) throw new Error(`${from} never answered before ${to}`);
  return samples[first].at - before.at;
}

/** The nodes that answered, in order, each run of answers by one node counted once. */
export function holders(samples: readonly Sample[]): string[] {
  const runs: string[] = [];
  for (const s of samples) if (s.node && runs.at(-1) !== s.node) runs.push(s.node);
  return runs;
}

/**
 * `lab power off|on <host>`, without blocking the event loop: a watch's probes keep going out
 * while a host dies.
 */
export async function labPower(action: "off" | "on", host: "edge" | "model"): Promise<void> {
  const lab = path.join(__dirname, "../../lab/lab.sh");
  await promisify(execFile)("bash", [lab, "power", action, host], { timeout: 900_000 });
}

/** A slowed link to a lab host, and how to undo it. */
export interface SlowLink {
  /** What was applied, for the test's output. */
  readonly what: string;
  undo(): Promise<void>;
}

/**
 * Slows the edge's link. On qemu the guest's own kernel delays its packets (netem, 20 ± 10 ms).
 * A container shares this machine's kernel, which has no sch_netem: there the host side of its
 * link is cut to 256 kbit/s (tbf), the slowest link this kernel can build. Fails when tc does.
 */
export async function slowEdgeLink(edge: LabHost): Promise<SlowLink> {
  if (edge.driver === "qemu") {
    await onHostAsync(edge, "sudo -n tc qdisc add dev eth0 root netem delay 20ms 10ms");
    return {
      what: "netem 20 ± 10 ms in the edge VM",
      undo: async () => void (await onHostAsync(edge, "sudo -n tc qdisc del dev eth0 root")),
    };
  }
  const tc = (...args: string[]) => promisify(execFile)("tc", ["qdisc", ...args]);
  await tc(
    "add",
    "dev",
    "okv-edge",
    "root",
    "tbf",
    "rate",
    "256kbit",
    "burst",
    "1600",
    "latency",
    "100ms",
  );
  return {
    what: "tbf 256 kbit/s on the edge's lab link",
    undo: async () => void (await tc("del", "dev", "okv-edge", "root")),
  };
}
