import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import { HOST_NAME, isAddressOrCidr, isPort } from "../kit/checks";
import { HardenedPiSpec, resolveHardenedPiArgs } from "./args";

const UNIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** fstab/tmpfs and logrotate/journald sizes: digits and a unit. */
const TMPFS_SIZE = /^[1-9][0-9]*[kmg]$/;
const LOGROTATE_SIZE = /^[1-9][0-9]*[kMG]$/;
const JOURNALD_SIZE = /^[1-9][0-9]*[KMG]$/;
const FSTAB_SOURCE = /^(LABEL|UUID|PARTUUID|PARTLABEL)=[A-Za-z0-9._-]+$|^\/dev\/[A-Za-z0-9/._-]+$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*[^/]$/;
const SYSCTL_NAME = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;
const SYSCTL_VALUE = /^[A-Za-z0-9_.:/ -]+$/;
const UNIT_NAME = /^[A-Za-z0-9:_.@-]+\.(service|socket|timer|path|target|mount)$/;
const DURATION = /^[1-9][0-9]*[smhdw]?$/;
const ON_CALENDAR = /^[A-Za-z0-9*:/,. -]+$/;
const COLLECTOR = /^[a-z][a-z0-9_]*$/;

/**
 * Every problem with the arguments, each named by its argument path (`tmpfs[2].size`). Empty when
 * they are valid; nothing is registered until it is.
 */
export function validateHardenedPiArgs(spec: HardenedPiSpec): Issue[] {
  const r = resolveHardenedPiArgs(spec);
  const issues: Issue[] = [];
  const add = (path: string, reason: string) => issues.push({ path, reason });

  if (!HOST_NAME.test(r.host.name))
    add(
      "host.name",
      `must be a host name of lowercase letters, digits and -, got "${r.host.name}"`,
    );
  if (!isIPv4(r.host.address))
    add("host.address", `must be an IPv4 address, got "${r.host.address}"`);
  if (!UNIX_NAME.test(r.sshUser)) add("sshUser", `must be a Unix user name, got "${r.sshUser}"`);
  if (r.adminAddresses.length === 0)
    add("adminAddresses", "must name at least the deploy machine, or fail2ban may ban it");
  r.adminAddresses.forEach((address, i) => {
    if (!isAddressOrCidr(address))
      add(`adminAddresses[${i}]`, `must be an IPv4 address or CIDR, got "${address}"`);
  });
  r.packages.forEach((name, i) => {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name))
      add(`packages[${i}]`, `must be a Debian package name, got "${name}"`);
  });
  if (!FSTAB_SOURCE.test(r.rootDevice))
    add(
      "rootDevice",
      `must be LABEL=, UUID=, PARTUUID=, PARTLABEL= or /dev/..., got "${r.rootDevice}"`,
    );
  if (r.raspberryPi && !FSTAB_SOURCE.test(r.bootDevice))
    add(
      "bootDevice",
      `must be LABEL=, UUID=, PARTUUID=, PARTLABEL= or /dev/..., got "${r.bootDevice}"`,
    );
  if (
    !Number.isInteger(r.rootCommitSeconds) ||
    r.rootCommitSeconds < 1 ||
    r.rootCommitSeconds > 600
  )
    add("rootCommitSeconds", "must be an integer from 1 to 600");
  const mountPoints = new Set<string>();
  r.tmpfs.forEach((mount, i) => {
    if (!ABSOLUTE_PATH.test(mount.path) || mount.path === "/")
      add(`tmpfs[${i}].path`, `must be an absolute directory other than /, got "${mount.path}"`);
    else if (mountPoints.has(mount.path)) add(`tmpfs[${i}].path`, `mounts ${mount.path} twice`);
    mountPoints.add(mount.path);
    if (!TMPFS_SIZE.test(mount.size))
      add(`tmpfs[${i}].size`, `must be a size like 64m or 1g, got "${mount.size}"`);
    if (!/^[0-7]{3,4}$/.test(mount.mode))
      add(`tmpfs[${i}].mode`, `must be an octal mode like 1777, got "${mount.mode}"`);
  });
  if (!LOGROTATE_SIZE.test(r.logMaxSize))
    add("logMaxSize", `must be a logrotate size like 6M, got "${r.logMaxSize}"`);
  if (!ON_CALENDAR.test(r.logrotateSchedule))
    add(
      "logrotateSchedule",
      `must be a systemd OnCalendar expression, got "${r.logrotateSchedule}"`,
    );
  if (!JOURNALD_SIZE.test(r.journalMaxUse))
    add("journalMaxUse", `must be a journald size like 32M, got "${r.journalMaxUse}"`);
  for (const [name, value] of Object.entries(r.sysctl)) {
    if (!SYSCTL_NAME.test(name)) add(`sysctl.${name}`, "is not a sysctl name like vm.swappiness");
    else if (!SYSCTL_VALUE.test(value))
      add(`sysctl.${name}`, `must be a plain value (letters, digits, spaces), got "${value}"`);
  }
  r.prunedServices.forEach((unit, i) => {
    if (!UNIT_NAME.test(unit))
      add(
        `prunedServices[${i}]`,
        `must be a unit name with its type, e.g. bluetooth.service, got "${unit}"`,
      );
    else if (
      /^(ssh|sshd|systemd-.*|dbus|fail2ban|prometheus-node-exporter)\.(service|socket)$/.test(unit)
    )
      add(
        `prunedServices[${i}]`,
        `${unit} keeps the node reachable or hardened: it cannot be pruned`,
      );
  });
  if (
    r.raspberryPi &&
    (!Number.isInteger(r.gpuMemoryMb) || r.gpuMemoryMb < 16 || r.gpuMemoryMb > 512)
  )
    add("gpuMemoryMb", "must be an integer from 16 to 512 (MB)");
  if (!Number.isInteger(r.fail2ban.maxRetry) || r.fail2ban.maxRetry < 1)
    add("fail2ban.maxRetry", "must be a positive integer");
  for (const field of ["findTime", "banTime"] as const)
    if (!DURATION.test(r.fail2ban[field]))
      add(`fail2ban.${field}`, `must be a fail2ban duration like 10m, got "${r.fail2ban[field]}"`);
  if (!isPort(r.nodeExporterPort)) add("nodeExporterPort", "must be an integer from 1 to 65535");
  if (r.nodeExporterCollectors.length === 0)
    add("nodeExporterCollectors", "must list at least one collector");
  r.nodeExporterCollectors.forEach((name, i) => {
    if (!COLLECTOR.test(name))
      add(`nodeExporterCollectors[${i}]`, `must be a collector name like meminfo, got "${name}"`);
  });
  if (!r.nodeExporterCollectors.includes("textfile"))
    add("nodeExporterCollectors", "must include textfile: okome's own metrics come through it");
  if (r.wireguard) {
    const [network, bits] = r.wireguard.network.split("/");
    if (!isIPv4(network) || bits === undefined || Number(bits) > 24 || !/^\d+$/.test(bits))
      add(
        "wireguard.network",
        `must be an IPv4 network of /24 or wider, got "${r.wireguard.network}"`,
      );
    if (!isPort(r.wireguard.listenPort))
      add("wireguard.listenPort", "must be an integer from 1 to 65535");
  }
  return issues;
}
