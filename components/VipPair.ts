import * as pulumi from "@pulumi/pulumi";
import { assertNoIssues } from "../common/issues";
import { configSetsByRole } from "./kit";
import type { ConfigSet } from "../providers";
import {
  VIP_PAIR_PATHS,
  VRRP_FILTER_TABLE,
  VRRP_INSTANCE,
  VipNode,
  VipNodeSetRole,
  VipPairArgs,
  VipRole,
  renderVipNode,
  resolveVipPairArgs,
  validateVipPairArgs,
  vipNodeCommands,
} from "./vipPair";

/** A node of the pair as the validation suite reads it. */
export interface VipPairNode {
  readonly node: string;
  readonly address: string;
  readonly priority: number;
}

/** The pair as configured: what the validation suite checks. */
export interface VipPairSummary {
  readonly vip: string;
  readonly interface: string;
  readonly virtualRouterId: number;
  readonly instance: string;
  readonly master: VipPairNode;
  readonly backup: VipPairNode;
  readonly advertIntervalSeconds: number;
  readonly preemptDelaySeconds: number;
  readonly nginxTracking: string;
  readonly vrrpFilterTable: string;
  /** The notify script's textfile metrics (okome_vip_*). */
  readonly metricsFile: string;
}

/**
 * The VIP on the edge, with the model node (which runs the standby edge) as backup: keepalived
 * VRRPv3 with unicast adverts every 100 ms, both nodes starting BACKUP so that the edge takes
 * the VIP back only after `preemptDelaySeconds` of health, and only the local nginx's health
 * moving it (track_process or a track file, and a check of its health location). One typed
 * description renders both keepalived.conf files, so they cannot disagree. Children per node
 * (`<name>-master-*`, `<name>-backup-*`): `scripts` (the notify script), `filter` (nftables
 * accepts VRRP from the peer only) and `keepalived` (checked with keepalived -t). The backup's
 * sets wait for the master's keepalived, so on a first deploy the edge takes the VIP.
 */
export class VipPair extends pulumi.ComponentResource {
  readonly vip: pulumi.Output<string>;
  /** Every output, as the validation suite reads it (one stack output). */
  readonly summary: pulumi.Output<VipPairSummary>;
  /** Every config set of the component: the deployment gate runs when any of them changes. */
  readonly configSets: readonly ConfigSet[];

  constructor(name: string, args: VipPairArgs, opts?: pulumi.ComponentResourceOptions) {
    assertNoIssues(`VipPair ${name}`, validateVipPairArgs(args));
    super("okome:infra:VipPair", name, {}, opts);
    const r = resolveVipPairArgs(args);
    const commands = vipNodeCommands(args);
    const roles = {
      scripts: { kind: "plain", service: "vip-scripts", commands: commands.scripts, dependsOn: [] },
      filter: {
        kind: "nftables",
        service: "vrrp-filter",
        commands: commands.filter,
        // A ruleset change must be confirmed by a fresh login, or the host undoes it.
        deadman: { timeoutSeconds: 120 },
        dependsOn: [],
      },
      keepalived: {
        kind: "keepalived",
        service: "keepalived",
        commands: commands.keepalived,
        dependsOn: ["scripts", "filter"],
      },
    } as const;
    const node = (role: VipRole, vipNode: VipNode, after: readonly pulumi.Resource[]) =>
      configSetsByRole<VipNodeSetRole>(
        `${name}-${role}`,
        {
          connection: vipNode.connection,
          after: [...(vipNode.after ?? []), ...after],
          files: [renderVipNode(args, role)],
          roles,
        },
        this,
      );
    const master = node("master", args.master, []);
    const backup = node("backup", args.backup, master.keepalived ? [master.keepalived] : []);
    this.configSets = [...Object.values<ConfigSet>(master), ...Object.values<ConfigSet>(backup)];

    const summaryOf = (role: VipRole): VipPairNode => ({
      node: r[role].host.name,
      address: r[role].host.address,
      priority: r.priorities[role],
    });
    this.vip = pulumi.output(r.vip);
    this.summary = pulumi.output<VipPairSummary>({
      vip: r.vip,
      interface: r.interface,
      virtualRouterId: r.virtualRouterId,
      instance: VRRP_INSTANCE,
      master: summaryOf("master"),
      backup: summaryOf("backup"),
      advertIntervalSeconds: r.advertIntervalSeconds,
      preemptDelaySeconds: r.preemptDelaySeconds,
      nginxTracking: r.nginxTracking,
      vrrpFilterTable: VRRP_FILTER_TABLE,
      metricsFile: `${VIP_PAIR_PATHS.textfileDir}/okome_vip.prom`,
    });
    this.registerOutputs({ vip: this.vip, summary: this.summary });
  }
}
