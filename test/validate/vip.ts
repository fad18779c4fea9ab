import { accessOutput, metricValue, onNode } from "./nodes";
import { HARDENING_OUTPUTS } from "./hardening";
import { ValidationModule, objectOutput } from "./runner";

/** The stack outputs this module reads (index.ts exports them). */
export const VIP_OUTPUTS = { pair: "vipPairSummary", access: HARDENING_OUTPUTS.access } as const;

interface PairNode {
  readonly node: string;
  readonly address: string;
}

interface Pair {
  readonly vip: string;
  readonly interface: string;
  readonly instance: string;
  readonly master: PairNode;
  readonly backup: PairNode;
  readonly vrrpFilterTable: string;
  readonly metricsFile: string;
}

/** okome_vip_state's values, as okome-vip-notify writes them. */
const STATES = ["BACKUP", "MASTER", "FAULT", "STOP"];

/**
 * The VIP pair (VipPair), read-only: over SSH, who holds the VIP, the state each node's
 * keepalived reports (its notify metrics) and whether the two agree, the VRRP filter; through
 * the VIP, that the node answering is the one holding it.
 */
export const vipModule: ValidationModule = {
  name: "vip",
  async run(outputs, check) {
    const access = accessOutput(outputs, VIP_OUTPUTS.access);
    const pair = objectOutput<Pair>(outputs, VIP_OUTPUTS.pair, [
      "vip",
      "interface",
      "instance",
      "master",
      "backup",
      "vrrpFilterTable",
      "metricsFile",
    ]);
    const nodes = [pair.master, pair.backup];
    const holds: Record<string, boolean> = {};
    const states: Record<string, string> = {};
    for (const n of nodes) {
      const run = (command: string) => onNode(access, n.address, command);
      await check(`${n.node}: keepalived runs and reports its state`, async () => {
        await run("systemctl is-active --quiet keepalived");
        const page = await run(`sudo -n cat ${pair.metricsFile}`);
        const state = metricValue(page, "okome_vip_state", {
          node: n.node,
          vrrp_instance: pair.instance,
        });
        if (state === undefined) throw new Error(`no okome_vip_state in ${pair.metricsFile}`);
        states[n.node] = STATES[state] ?? `unknown (${state})`;
        if (
          metricValue(page, "okome_vip_transitions_total", {
            node: n.node,
            vrrp_instance: pair.instance,
          }) === undefined
        )
          throw new Error("no okome_vip_transitions_total");
        const addresses = await run(`ip -4 -o addr show dev ${pair.interface}`);
        holds[n.node] = addresses.includes(` ${pair.vip}/`);
      });
      await check(`${n.node}: nftables accepts VRRP from the peer only`, async () => {
        const table = await run(`sudo -n nft list table inet ${pair.vrrpFilterTable}`);
        const peer = n === pair.master ? pair.backup : pair.master;
        if (!table.includes(`ip saddr != ${peer.address}`) || !/drop/.test(table))
          throw new Error(
            `table ${pair.vrrpFilterTable} has no drop of VRRP from others than ${peer.address}`,
          );
      });
    }
    await check(
      `the pair agrees: one MASTER holding ${pair.vip}, one BACKUP without it`,
      async () => {
        const holders = nodes.filter((n) => holds[n.node]).map((n) => n.node);
        const masters = nodes.filter((n) => states[n.node] === "MASTER").map((n) => n.node);
        const seen = nodes.map(
          (n) => `${n.node} ${states[n.node]}${holds[n.node] ? " (VIP)" : ""}`,
        );
        if (holders.length !== 1 || masters.length !== 1 || holders[0] !== masters[0])
          throw new Error(seen.join(", "));
        if (holders[0] !== pair.master.node)
          throw new Error(
            `${holders[0]} holds the VIP, not ${pair.master.node}: ${seen.join(", ")}`,
          );
      },
    );
    await check(`${pair.vip} answers from the node holding it`, async () => {
      const res = await fetch(`http://${pair.vip}/__okome/health`, {
        signal: AbortSignal.timeout(5000),
      });
      const node = res.headers.get("x-okome-node");
      const holder = nodes.find((n) => holds[n.node])?.node;
      if (res.status !== 200 || node !== holder)
        throw new Error(`answered ${res.status} from ${node}; ${holder ?? "nobody"} holds the VIP`);
    });
  },
};
