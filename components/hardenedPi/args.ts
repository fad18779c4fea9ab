import type * as pulumi from "@pulumi/pulumi";
import type { HostConnection } from "../../providers";
import { HostSpec } from "../config";
import { withDefaults } from "../kit";

/** A tmpfs mount of the hardened fstab. */
export interface TmpfsMount {
  /** Mount point, e.g. `/var/log`. */
  readonly path: string;
  /** Upper bound of the RAM it may take, in fstab syntax (`64m`, `1g`). */
  readonly size: string;
  /** fstab mode of its root directory (`1777` for /tmp). */
  readonly mode: string;
}

/** Admin access over WireGuard (systemd-networkd on the node; one admin peer). */
export interface WireGuardAccess {
  /** The tunnel's IPv4 network, CIDR; the node takes the address with its LAN address's last octet. */
  readonly network: string;
  /** UDP port the node listens on, 1-65535. */
  readonly listenPort: number;
}

/** Arguments of {@link HardenedPi}. */
export interface HardenedPiArgs {
  /** The Pi. Its name becomes the hostname. */
  readonly host: HostSpec;
  /** How the providers reach the host over SSH. */
  readonly connection: pulumi.Input<HostConnection>;
  /** The deploy user: the only account sshd lets in (AllowUsers). */
  readonly sshUser: string;
  /**
   * Addresses or CIDRs fail2ban never bans: the deploy machine at least, so that a typo in a key
   * cannot lock the deployer out. No default: it is a fact about the network.
   */
  readonly adminAddresses: readonly string[];
  /**
   * `true` on a Raspberry Pi: /boot/firmware/config.txt is managed (GPU memory, interfaces).
   * `false` elsewhere (the lab): the Pi settings are reported as not applicable.
   */
  readonly raspberryPi: boolean;
  /**
   * Install missing Debian packages with apt-get (prod). `false`: a missing package fails the
   * run naming it (the lab, whose image has them baked in).
   */
  readonly installPackages: boolean;
  /** Debian packages the host's other components need; checked (and installed) with the baseline's. */
  readonly packages?: readonly string[];
  /** The root filesystem's fstab source; Raspberry Pi OS labels it `rootfs`. */
  readonly rootDevice?: string;
  /** The firmware partition's fstab source (Pi only); Raspberry Pi OS labels it `bootfs`. */
  readonly bootDevice?: string;
  /** The root filesystem's ext4 commit interval, seconds: fewer journal flushes to the SD card. */
  readonly rootCommitSeconds?: number;
  /** tmpfs mounts; writes there never reach the SD card. */
  readonly tmpfs?: readonly TmpfsMount[];
  /** Size at which logrotate rotates any log (logrotate `maxsize`), so a busy log cannot fill the /var/log tmpfs. */
  readonly logMaxSize?: string;
  /** How often logrotate runs (a systemd OnCalendar expression); Debian's default is daily. */
  readonly logrotateSchedule?: string;
  /** journald's RAM budget (`RuntimeMaxUse`); the journal is RAM-only (`Storage=volatile`). */
  readonly journalMaxUse?: string;
  /** Kernel settings (sysctl name -> value); merged over {@link HARDENED_PI_DEFAULTS}.sysctl. */
  readonly sysctl?: Readonly<Record<string, string>>;
  /** Units masked (not just stopped); a unit that does not exist is masked all the same. */
  readonly prunedServices?: readonly string[];
  /** GPU memory in MB (config.txt `gpu_mem`); a headless Pi needs the minimum. Pi only. */
  readonly gpuMemoryMb?: number;
  /**
   * Seconds after an sshd change within which a fresh login with the deploy key must succeed,
   * or the host restores the old sshd config by itself (the dead-man switch).
   */
  readonly sshDeadmanSeconds?: number;
  /** fail2ban: failures within `findTime` that ban an address, and for how long. */
  readonly fail2ban?: {
    readonly maxRetry: number;
    readonly findTime: string;
    readonly banTime: string;
  };
  /** TCP port of prometheus-node-exporter, listening on the node's LAN address only. */
  readonly nodeExporterPort?: number;
  /** node exporter collectors; every other one is off (RAM-safe mode). */
  readonly nodeExporterCollectors?: readonly string[];
  /** Admin access over WireGuard; off when absent. */
  readonly wireguard?: WireGuardAccess;
}

/** The node's spec: every argument but how to reach the host (pure data, for unit tests). */
export type HardenedPiSpec = Omit<HardenedPiArgs, "connection">;

/** Every default of {@link HardenedPiArgs}, applied in one place ({@link resolveHardenedPiArgs}). */
export const HARDENED_PI_DEFAULTS = {
  packages: [] as readonly string[],
  rootDevice: "LABEL=rootfs",
  bootDevice: "LABEL=bootfs",
  /** ext4's default is 5 s; a minute trades at most a minute of writes on power loss for fewer flushes. */
  rootCommitSeconds: 60,
  tmpfs: [
    { path: "/tmp", size: "128m", mode: "1777" },
    { path: "/var/tmp", size: "32m", mode: "1777" },
    { path: "/var/log", size: "64m", mode: "0755" },
  ] as readonly TmpfsMount[],
  /** A tenth of the /var/log tmpfs: a few rotated files of each log still fit. */
  logMaxSize: "6M",
  logrotateSchedule: "*:0/15",
  journalMaxUse: "32M",
  /** Each is explained in the rendered file (SYSCTL_WHY in render.ts). */
  sysctl: {
    "vm.swappiness": "1",
    "vm.dirty_background_ratio": "5",
    "vm.dirty_ratio": "20",
    "vm.dirty_writeback_centisecs": "1500",
    "vm.dirty_expire_centisecs": "6000",
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.default.rp_filter": "1",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv4.ip_nonlocal_bind": "1",
  } as Readonly<Record<string, string>>,
  prunedServices: [
    "bluetooth.service",
    "hciuart.service",
    "avahi-daemon.service",
    "avahi-daemon.socket",
    "triggerhappy.service",
    "triggerhappy.socket",
    "ModemManager.service",
    "cups.service",
    /** apt's daily download and unattended runs write to the card and compete with the cache. */
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
  ] as readonly string[],
  gpuMemoryMb: 16,
  /** The transaction's minimum (its step timeout plus the confirmation's) with room for a slow VM. */
  sshDeadmanSeconds: 120,
  fail2ban: { maxRetry: 5, findTime: "10m", banTime: "1h" },
  nodeExporterPort: 9100,
  nodeExporterCollectors: [
    "cpu",
    "diskstats",
    "filesystem",
    "loadavg",
    "meminfo",
    "netdev",
    "pressure",
    "stat",
    "textfile",
    "thermal_zone",
    "time",
    "uname",
    "vmstat",
  ] as readonly string[],
} as const;

/** Arguments with every default applied (`wireguard` stays optional: absent is off). */
export type ResolvedHardenedPiArgs = Required<Omit<HardenedPiSpec, "wireguard">> &
  Pick<HardenedPiSpec, "wireguard">;

/** Applies {@link HARDENED_PI_DEFAULTS}; the only place that does. sysctl settings merge over the defaults. */
export function resolveHardenedPiArgs(args: HardenedPiSpec): ResolvedHardenedPiArgs {
  const resolved = withDefaults(args, HARDENED_PI_DEFAULTS);
  return { ...resolved, sysctl: { ...HARDENED_PI_DEFAULTS.sysctl, ...args.sysctl } };
}
