import { OS } from "../platform";

/** Where the pair's files live on each node. */
export const VIP_PAIR_PATHS = {
  /** The whole file is okome's (keepalived reads no other). */
  keepalivedConf: "/etc/keepalived/keepalived.conf",
  /** The VRRP filter: nftables accepts VRRP from the peer only. Loaded by its own unit. */
  vrrpFilter: "/etc/nftables.d/okome-vrrp.nft",
  /** okome-vip-notify's settings (sourced). */
  notifyEnv: "/etc/okome/vip.env",
  /** okome-vip-notify's last state and transition count: they survive a reboot. */
  notifyStateDir: "/var/lib/okome/vip",
  /** nginx's up (0) or down (1), written by its unit, for `vrrp_track_file`. */
  nginxDownFile: "/run/okome/nginx-down",
  /** The drop-in of nginx's unit that writes it. */
  nginxDropIn: "/etc/systemd/system/nginx.service.d/okome-vrrp-track.conf",
  textfileDir: OS.textfileDir,
  systemdDir: "/etc/systemd/system",
} as const;

/** The nftables table of the VRRP filter. */
export const VRRP_FILTER_TABLE = "okome_vrrp";

export const VIP_PAIR_SCRIPTS = {
  notify: "/usr/local/sbin/okome-vip-notify",
} as const;

export const VIP_PAIR_UNITS = {
  keepalived: "keepalived",
  vrrpFilter: "okome-vrrp-filter",
} as const;

/** The name of the VRRP instance (metrics label, notify argument). */
export const VRRP_INSTANCE = "okome_vip";
