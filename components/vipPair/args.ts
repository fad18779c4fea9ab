import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../../providers";
import { HostSpec } from "../config";
import { WithDefaults, withDefaults } from "../kit";

/** One node of the pair: its host and how to reach it. */
export interface VipNode {
  readonly host: HostSpec;
  readonly connection: pulumi.Input<HostConnection>;
  /** What this node's config sets wait for: its edge (nginx must answer before it may hold the VIP). */
  readonly after?: readonly pulumi.Resource[];
}

/**
 * How keepalived learns that the local nginx died, at once:
 * - process: `track_process` (the kernel's proc connector; a Pi, a VM).
 * - file: `vrrp_track_file`, which nginx's unit writes when it starts and stops (inotify): the
 *   proc connector answers only in the machine's first network namespace, so a container needs it.
 */
export const NGINX_TRACKING = ["process", "file"] as const;
export type NginxTracking = (typeof NGINX_TRACKING)[number];

/** The local check of the edge that a node must pass to hold the VIP (a `vrrp_script`). */
export interface EdgeCheck {
  /** The edge's port on loopback. */
  readonly port: number;
  /** nginx's own health location (EdgeCacheNode's), never the orchestrator's. */
  readonly path: string;
  /** Seconds between checks: keepalived polls whole seconds at best. */
  readonly intervalSeconds: number;
  /**
   * Seconds a check may take (curl's --max-time and keepalived's timeout). A slow start of curl
   * under load must not read as a dead edge: a killed nginx is track_process's job, at once.
   */
  readonly timeoutSeconds: number;
  /** Failed checks in a row before the node gives up the VIP (FAULT). */
  readonly fall: number;
  /** Good checks in a row before it may hold the VIP again. */
  readonly rise: number;
}

/** Gratuitous ARP after a node takes the VIP, so clients and the switch follow at once. */
export interface GratuitousArp {
  /** Seconds after becoming MASTER before the second burst. */
  readonly masterDelaySeconds: number;
  /** ARPs per burst. */
  readonly masterRepeat: number;
  /** Seconds between refreshes while MASTER (0: none). */
  readonly masterRefreshSeconds: number;
  /**
   * ARPs a MASTER sends when it hears a lower priority advert: after a split brain, clients that
   * followed the backup's ARP come back at once, not at the next refresh.
   */
  readonly lowerPriorityRepeat: number;
}

/** Arguments of {@link VipPair}. */
export interface VipPairArgs {
  /** The floating address clients use. */
  readonly vip: string;
  /** The LAN, as an IPv4 CIDR: the VIP lies inside it and takes its prefix length. */
  readonly lanCidr: string;
  /** The node that holds the VIP while healthy: the edge. */
  readonly master: VipNode;
  /** The node that takes it when the master fails: the model node with the standby edge. */
  readonly backup: VipNode;
  /** The network interface of the LAN on both nodes. */
  readonly interface?: string;
  /** The VRRP router id, 1-255: unique on the LAN among VRRP pairs. */
  readonly virtualRouterId?: number;
  /** VRRP priorities, 1-254 (255 is an address owner's); the master's is higher. */
  readonly priorities?: { readonly master: number; readonly backup: number };
  /** Seconds between adverts (VRRPv3: hundredths); a dead master is noticed after about three. */
  readonly advertIntervalSeconds?: number;
  /** Seconds the master must be healthy again before it takes the VIP back. */
  readonly preemptDelaySeconds?: number;
  readonly edgeCheck?: EdgeCheck;
  readonly nginxTracking?: NginxTracking;
  readonly gratuitousArp?: GratuitousArp;
}

/** The pair's spec: every argument but how to reach the hosts (pure data). */
export type VipPairSpec = Omit<VipPairArgs, "master" | "backup"> & {
  readonly master: Pick<VipNode, "host">;
  readonly backup: Pick<VipNode, "host">;
};

/** Every default of {@link VipPairArgs}, applied in one place ({@link resolveVipPairArgs}). */
export const VIP_PAIR_DEFAULTS = {
  interface: "eth0",
  virtualRouterId: 51,
  /** A gap of 50: the checks use weight 0 (a failed check is FAULT), so none adds or takes. */
  priorities: { master: 150, backup: 100 },
  /** 100 ms adverts: a dead master is replaced after about 0.3 s (goal: under 0.5 s). */
  advertIntervalSeconds: 0.1,
  /** A minute of health before the edge takes the VIP back: one flip back, never a flap. */
  preemptDelaySeconds: 60,
  /**
   * A backstop for an nginx that runs but does not answer: every 2 s, 2 s to answer. With 1 s, a
   * curl slowed by CPU load timed out and moved the VIP (measured on the qemu lab).
   */
  edgeCheck: {
    port: 80,
    path: "/__okome/health",
    intervalSeconds: 2,
    timeoutSeconds: 2,
    fall: 2,
    rise: 2,
  },
  nginxTracking: "process",
  gratuitousArp: {
    masterDelaySeconds: 1,
    masterRepeat: 3,
    /**
     * Every 5 s: after a split brain the backup steps down within an advert, often before the
     * master hears it (so no lower-priority ARP), and clients that followed the backup's ARP come
     * back at the next refresh. One packet per 5 s.
     */
    masterRefreshSeconds: 5,
    lowerPriorityRepeat: 3,
  },
} as const;

/** Arguments with every default applied. */
export type ResolvedVipPairArgs = WithDefaults<VipPairSpec, typeof VIP_PAIR_DEFAULTS>;

/** Applies {@link VIP_PAIR_DEFAULTS}; the only place that does. */
export function resolveVipPairArgs(spec: VipPairSpec): ResolvedVipPairArgs {
  return withDefaults(spec, VIP_PAIR_DEFAULTS);
}
