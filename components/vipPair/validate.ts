import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import { HOST_NAME, isCidr, isIntegerIn, isPort } from "../kit/checks";
import { NGINX_TRACKING, VipPairSpec, resolveVipPairArgs } from "./args";

/** A Linux interface name (IFNAMSIZ: 15 characters). */
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;
/** A URL path without query: what the check's curl asks. */
const URL_PATH = /^\/[A-Za-z0-9._~/-]*$/;

const toNumber = (address: string) =>
  address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);

/** Whether IPv4 `address` is a host address of `cidr` (not its network or broadcast address). */
export function isHostIn(address: string, cidr: string): boolean {
  const [network, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const first = toNumber(network) - (toNumber(network) % size);
  const n = toNumber(address);
  return n > first && n < first + size - 1;
}

/**
 * Every problem with the arguments, each named by its argument path (`priorities.backup`).
 * Empty when they are valid; nothing is registered until it is.
 */
export function validateVipPairArgs(spec: VipPairSpec): Issue[] {
  const r = resolveVipPairArgs(spec);
  const issues: Issue[] = [];
  const add = (path: string, reason: string) => issues.push({ path, reason });
  const integer = (path: string, value: number, min: number, max: number) => {
    if (!isIntegerIn(value, min, max))
      add(path, `must be an integer from ${min} to ${max}, got ${value}`);
  };

  const lanOk = isCidr(r.lanCidr);
  if (!lanOk) add("lanCidr", `must be an IPv4 CIDR like 192.168.86.0/24, got "${r.lanCidr}"`);
  const inLan = (path: string, address: string) => {
    if (!isIPv4(address)) add(path, `must be an IPv4 address, got "${address}"`);
    else if (lanOk && !isHostIn(address, r.lanCidr))
      add(path, `must be a host address inside the LAN ${r.lanCidr}, got ${address}`);
  };
  for (const role of ["master", "backup"] as const) {
    const host = r[role].host;
    if (!HOST_NAME.test(host.name))
      add(
        `${role}.host.name`,
        `must be a host name of lowercase letters, digits and -, got "${host.name}"`,
      );
    inLan(`${role}.host.address`, host.address);
  }
  if (r.master.host.address === r.backup.host.address)
    add("backup.host.address", `is the master's address too (${r.master.host.address})`);
  inLan("vip", r.vip);
  if ([r.master.host.address, r.backup.host.address].includes(r.vip))
    add("vip", `is ${r.vip}, a node's own address: the VIP must be an address of its own`);

  if (!INTERFACE.test(r.interface))
    add("interface", `must be an interface name like eth0, got "${r.interface}"`);
  integer("virtualRouterId", r.virtualRouterId, 1, 255);
  integer("priorities.master", r.priorities.master, 1, 254);
  integer("priorities.backup", r.priorities.backup, 1, 254);
  // The checks use weight 0 (a failed one is FAULT), so the gap only has to exist.
  if (r.priorities.master <= r.priorities.backup)
    add(
      "priorities",
      `the master's (${r.priorities.master}) must be above the backup's (${r.priorities.backup})`,
    );
  // VRRPv3 counts adverts in hundredths of a second, up to 40.95 s.
  const centis = Math.round(r.advertIntervalSeconds * 100);
  if (!(centis >= 1 && centis <= 4095 && Math.abs(centis - r.advertIntervalSeconds * 100) < 1e-9))
    add(
      "advertIntervalSeconds",
      `must be seconds in hundredths from 0.01 to 40.95, got ${r.advertIntervalSeconds}`,
    );
  integer("preemptDelaySeconds", r.preemptDelaySeconds, 0, 1000);

  const c = r.edgeCheck;
  if (!isPort(c.port)) add("edgeCheck.port", `must be an integer from 1 to 65535, got ${c.port}`);
  if (!URL_PATH.test(c.path)) add("edgeCheck.path", `must be a URL path, got "${c.path}"`);
  integer("edgeCheck.intervalSeconds", c.intervalSeconds, 1, 60);
  integer("edgeCheck.timeoutSeconds", c.timeoutSeconds, 1, 60);
  integer("edgeCheck.fall", c.fall, 1, 100);
  integer("edgeCheck.rise", c.rise, 1, 100);
  if (!NGINX_TRACKING.includes(r.nginxTracking))
    add("nginxTracking", `must be ${NGINX_TRACKING.join(" or ")}, got "${r.nginxTracking}"`);
  const g = r.gratuitousArp;
  integer("gratuitousArp.masterDelaySeconds", g.masterDelaySeconds, 0, 1000);
  integer("gratuitousArp.masterRepeat", g.masterRepeat, 1, 255);
  integer("gratuitousArp.masterRefreshSeconds", g.masterRefreshSeconds, 0, 86400);
  integer("gratuitousArp.lowerPriorityRepeat", g.lowerPriorityRepeat, 1, 255);
  return issues;
}
