import type { ManagedFile } from "../../providers";
import { HOST_SCRIPTS, OS } from "../platform";
import { hostScript, renderTemplate } from "../templates";
import { HARDENED_PI_DEFAULTS, HardenedPiSpec, resolveHardenedPiArgs } from "./args";
import { HARDENED_PI_PATHS } from "./paths";

/** The files of the baseline, by the role (the config set) that installs them. */
export interface HardenedPiFiles {
  /** The okome-* host scripts the other sets run. */
  readonly scripts: readonly ManagedFile[];
  /** fstab (noatime, commit, tmpfs), the log dirs a tmpfs /var/log needs, logrotate by size. */
  readonly storage: readonly ManagedFile[];
  /** sysctl settings. */
  readonly kernel: readonly ManagedFile[];
  /** journald RAM-only. */
  readonly journald: readonly ManagedFile[];
  /** The list of masked units. */
  readonly services: readonly ManagedFile[];
  /** Hostname and /etc/hosts. */
  readonly identity: readonly ManagedFile[];
  /** The Pi's config.txt; empty off a Pi. */
  readonly firmware: readonly ManagedFile[];
  readonly sshd: readonly ManagedFile[];
  readonly fail2ban: readonly ManagedFile[];
  readonly nodeExporter: readonly ManagedFile[];
}

/** The roles of the baseline's config sets. */
export type HardenedPiRole = keyof HardenedPiFiles;

/** Doc comments of the default sysctl settings, rendered above each (why it is set). */
const SYSCTL_WHY: Readonly<Record<string, string>> = {
  "vm.swappiness": "Swap on an SD card is wear: keep pages in RAM unless truly short.",
  "vm.dirty_background_ratio": "Batch dirty pages: fewer, larger writes to the card.",
  "net.ipv4.conf.all.rp_filter": "Strict reverse-path filtering: drop spoofed sources.",
  "net.ipv4.conf.all.accept_redirects":
    "A cache node is not a router: no redirects either way, no source routing.",
  "net.ipv4.tcp_syncookies": "Keep answering under a SYN flood.",
  "net.ipv4.ip_nonlocal_bind":
    "nginx may bind the VIP before keepalived moves it here (the standby edge).",
};

/** The sysctl settings, defaults first in their documented order, then the stack's own. */
export function sysctlSettings(spec: HardenedPiSpec): { name: string; value: string }[] {
  const settings = resolveHardenedPiArgs(spec).sysctl;
  const order = [
    ...Object.keys(HARDENED_PI_DEFAULTS.sysctl),
    ...Object.keys(settings)
      .filter((name) => !(name in HARDENED_PI_DEFAULTS.sysctl))
      .sort(),
  ];
  return order.map((name) => ({ name, value: settings[name] }));
}

/** Renders every file of the baseline (pure: same spec, same files). */
export function renderHardenedPi(spec: HardenedPiSpec): HardenedPiFiles {
  const r = resolveHardenedPiArgs(spec);
  const host = r.host.name;
  const logTmpfs = r.tmpfs.find((mount) => mount.path === "/var/log");
  return {
    scripts: [
      hostScript(HOST_SCRIPTS.sysctlApply, "okome-sysctl-apply.sh"),
      hostScript(HOST_SCRIPTS.fstabApply, "okome-fstab-apply.sh"),
      hostScript(HOST_SCRIPTS.pruneServices, "okome-prune-services.sh"),
      hostScript(HOST_SCRIPTS.hostReport, "okome-host-report.sh"),
    ],
    storage: [
      {
        path: HARDENED_PI_PATHS.fstab,
        content: renderTemplate("os/fstab-hardened.mustache", {
          host,
          rootDevice: r.rootDevice,
          bootDevice: r.raspberryPi ? r.bootDevice : undefined,
          rootCommitSeconds: r.rootCommitSeconds,
          tmpfs: r.tmpfs,
        }),
      },
      {
        path: HARDENED_PI_PATHS.tmpfiles,
        content: renderTemplate("os/tmpfiles-okome.conf.mustache", {
          host,
          logDirs: logTmpfs ? OS.logDirs : [],
          textfileDir: OS.textfileDir,
        }),
      },
      {
        path: HARDENED_PI_PATHS.logrotate,
        content: renderTemplate("os/logrotate.conf.mustache", {
          host,
          logMaxSize: r.logMaxSize,
          logTmpfsSize: logTmpfs?.size ?? "disk",
        }),
      },
      {
        path: HARDENED_PI_PATHS.logrotateTimer,
        content: renderTemplate("os/logrotate-timer.conf.mustache", {
          host,
          schedule: r.logrotateSchedule,
        }),
      },
    ],
    kernel: [
      {
        path: HARDENED_PI_PATHS.sysctl,
        content: renderTemplate("os/sysctl-okome.conf.mustache", {
          host,
          settings: sysctlSettings(spec).map((s) => ({ ...s, why: SYSCTL_WHY[s.name] })),
        }),
      },
    ],
    journald: [
      {
        path: HARDENED_PI_PATHS.journald,
        content: renderTemplate("os/journald-okome.conf.mustache", {
          host,
          journalMaxUse: r.journalMaxUse,
        }),
      },
    ],
    services: [
      {
        path: HARDENED_PI_PATHS.prunedServices,
        content: renderTemplate("os/pruned-services.mustache", { host, units: r.prunedServices }),
      },
    ],
    identity: [
      { path: HARDENED_PI_PATHS.hostname, content: `${host}\n` },
      { path: HARDENED_PI_PATHS.hosts, content: renderTemplate("os/hosts.mustache", { host }) },
    ],
    firmware: r.raspberryPi
      ? [
          {
            path: OS.firmwareConfig,
            content: renderTemplate("os/config.txt.mustache", {
              host,
              gpuMemoryMb: r.gpuMemoryMb,
            }),
          },
        ]
      : [],
    sshd: [
      {
        path: HARDENED_PI_PATHS.sshd,
        content: renderTemplate("os/sshd-okome.conf.mustache", {
          host,
          allowUsers: r.sshUser,
        }),
      },
    ],
    fail2ban: [
      {
        path: HARDENED_PI_PATHS.fail2banJail,
        content: renderTemplate("os/fail2ban-jail.local.mustache", {
          host,
          adminAddresses: r.adminAddresses.join(" "),
          ...r.fail2ban,
        }),
      },
      {
        path: HARDENED_PI_PATHS.fail2banSettings,
        content: renderTemplate("os/fail2ban.local.mustache", { host }),
      },
    ],
    nodeExporter: [
      {
        path: HARDENED_PI_PATHS.nodeExporterDefaults,
        content: renderTemplate("os/prometheus-node-exporter.mustache", {
          host,
          address: r.host.address,
          port: r.nodeExporterPort,
          collectorFlags: r.nodeExporterCollectors.map((name) => `--collector.${name}`).join(" "),
          textfileDir: OS.textfileDir,
        }),
      },
    ],
  };
}
