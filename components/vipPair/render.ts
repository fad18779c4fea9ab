import * as path from "node:path";
import type { ManagedFile } from "../../providers";
import { hostScript, renderTemplate } from "../templates";
import { ResolvedVipPairArgs, VipPairSpec, resolveVipPairArgs } from "./args";
import {
  VIP_PAIR_PATHS,
  VIP_PAIR_SCRIPTS,
  VIP_PAIR_UNITS,
  VRRP_FILTER_TABLE,
  VRRP_INSTANCE,
} from "./paths";

/** The two nodes of the pair. */
export type VipRole = "master" | "backup";

/** The files of one node, by the role (the config set) that installs them. */
export interface VipNodeFiles {
  /** okome-vip-notify and its settings. */
  readonly scripts: readonly ManagedFile[];
  /** The VRRP filter (nftables) and its unit: before keepalived, so no stranger's advert counts. */
  readonly filter: readonly ManagedFile[];
  /** keepalived.conf (checked with keepalived -t) and, when nginx is tracked by a file, nginx's drop-in. */
  readonly keepalived: readonly ManagedFile[];
}

/** The roles of a node's config sets, in the order they apply. */
export type VipNodeSetRole = keyof VipNodeFiles;

const file = (target: string, template: string, view: object): ManagedFile => ({
  path: target,
  content: renderTemplate(template, view),
  mode: "0644",
});

/** What every template of `role`'s node may name. */
function view(r: ResolvedVipPairArgs, role: VipRole) {
  const self = r[role].host;
  const peer = r[role === "master" ? "backup" : "master"].host;
  return {
    ...r,
    ...VIP_PAIR_PATHS,
    role,
    node: self.name,
    address: self.address,
    peerAddress: peer.address,
    priority: r.priorities[role],
    prefixLength: r.lanCidr.split("/")[1],
    instance: VRRP_INSTANCE,
    vrrpTable: VRRP_FILTER_TABLE,
    vrrpFilterUnit: VIP_PAIR_UNITS.vrrpFilter,
    notifyScript: VIP_PAIR_SCRIPTS.notify,
    trackProcess: r.nginxTracking === "process",
    trackFile: r.nginxTracking === "file",
    nginxDownDir: path.posix.dirname(VIP_PAIR_PATHS.nginxDownFile),
  };
}

/**
 * Every file of `role`'s node, from the one description of the pair. Pure: the unit tests'
 * golden files (keepalived-master.conf, keepalived-backup.conf) come from here.
 */
export function renderVipNode(spec: VipPairSpec, role: VipRole): VipNodeFiles {
  const r = resolveVipPairArgs(spec);
  const v = view(r, role);
  const unit = `${VIP_PAIR_PATHS.systemdDir}/${VIP_PAIR_UNITS.vrrpFilter}.service`;
  return {
    scripts: [
      hostScript(VIP_PAIR_SCRIPTS.notify, "okome-vip-notify.sh"),
      file(VIP_PAIR_PATHS.notifyEnv, "keepalived/vip.env.mustache", v),
    ],
    filter: [
      file(VIP_PAIR_PATHS.vrrpFilter, "keepalived/okome-vrrp.nft.mustache", v),
      file(unit, `systemd/${VIP_PAIR_UNITS.vrrpFilter}.service.mustache`, v),
    ],
    keepalived: [
      file(VIP_PAIR_PATHS.keepalivedConf, "keepalived/keepalived.conf.mustache", v),
      ...(r.nginxTracking === "file"
        ? [file(VIP_PAIR_PATHS.nginxDropIn, "systemd/nginx-vrrp-track.conf.mustache", v)]
        : []),
    ],
  };
}
