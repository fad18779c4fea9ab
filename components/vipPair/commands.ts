import * as path from "node:path";
import type { HostCommands } from "../kit";
import { VipPairSpec, resolveVipPairArgs } from "./args";
import { VIP_PAIR_PATHS, VIP_PAIR_UNITS, VRRP_FILTER_TABLE, VRRP_INSTANCE } from "./paths";
import type { VipNodeSetRole } from "./render";

/** Waits up to `seconds` for a shell condition (keepalived takes a few adverts to settle). */
const within = (seconds: number, condition: string) =>
  `timeout ${seconds} sh -c 'until ${condition}; do sleep 0.2; done'`;

/** The host commands of a node's config sets (run as root by the ConfigSet transaction). */
export function vipNodeCommands(spec: VipPairSpec) {
  const r = resolveVipPairArgs(spec);
  const { keepalived, vrrpFilter } = VIP_PAIR_UNITS;
  const filterUnit = `${VIP_PAIR_PATHS.systemdDir}/${vrrpFilter}.service`;
  const conf = VIP_PAIR_PATHS.keepalivedConf;
  const downFile = VIP_PAIR_PATHS.nginxDownFile;
  // keepalived reads the drop-in's file at once: it must say how nginx is now.
  const nginxState =
    r.nginxTracking === "file"
      ? `mkdir -p ${path.posix.dirname(downFile)} && ` +
        `if systemctl is-active --quiet nginx; then echo 0; else echo 1; fi > ${downFile} && `
      : "";
  const metrics = `${VIP_PAIR_PATHS.textfileDir}/okome_vip.prom`;
  return {
    scripts: { activate: "true" },
    filter: {
      // On removal there is no file left to check.
      validate: `[ ! -e ${VIP_PAIR_PATHS.vrrpFilter} ] || nft -c -f ${VIP_PAIR_PATHS.vrrpFilter}`,
      // On removal the unit file is gone: the table is deleted instead.
      activate:
        `systemctl daemon-reload && if [ -f ${filterUnit} ]; then ` +
        `systemctl enable --quiet ${vrrpFilter} && systemctl restart ${vrrpFilter}; ` +
        `else nft delete table inet ${VRRP_FILTER_TABLE} 2>/dev/null; true; fi`,
      verify: `[ ! -f ${filterUnit} ] || nft list table inet ${VRRP_FILTER_TABLE} >/dev/null`,
    },
    keepalived: {
      validate: `[ ! -e ${conf} ] || keepalived -t -f ${conf}`,
      // keepalived's unit does not start without a config: on removal it is stopped.
      activate:
        `systemctl daemon-reload && ${nginxState}if [ -s ${conf} ]; then ` +
        `systemctl enable --quiet ${keepalived} && systemctl reload-or-restart ${keepalived}; ` +
        `else systemctl stop ${keepalived}; fi`,
      // The instance settles as MASTER or BACKUP (not FAULT) within a few adverts and checks.
      verify:
        `[ ! -s ${conf} ] || ` +
        within(
          15,
          `grep -Eq "^okome_vip_state[{].*vrrp_instance=.${VRRP_INSTANCE}.[}] [01]$" ${metrics}`,
        ),
    },
  } satisfies Record<VipNodeSetRole, HostCommands>;
}
