/**
 * A network namespace with only loopback up, for tests that must not reach any real host: an
 * address outside it is unreachable, and what listens inside is seen only from inside.
 * Named after the test process, so a later run removes what a killed one left. Needs root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";

export class EmptyNetns {
  readonly name: string;

  /** Creates `<prefix>-<pid>` after removing namespaces of `prefix` whose process is gone. */
  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}`;
    for (const ns of execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n")) {
      const pid = new RegExp(`^${prefix}-(\\d+)\\b`).exec(ns)?.[1];
      if (pid && !fs.existsSync(`/proc/${pid}`))
        spawnSync("ip", ["netns", "del", `${prefix}-${pid}`]);
    }
    execFileSync("ip", ["netns", "add", this.name]);
    execFileSync("ip", ["-n", this.name, "link", "set", "lo", "up"]);
  }

  /** True when `address` has a route inside the namespace (loopback does, a Pi must not). */
  routes(address: string): boolean {
    return (
      spawnSync("ip", ["netns", "exec", this.name, "ip", "-o", "route", "get", address]).status ===
      0
    );
  }

  /** argv prefixed so that it runs inside the namespace. */
  wrap(argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...argv];
  }

  remove(): void {
    spawnSync("ip", ["netns", "del", this.name]);
  }
}

/** The lab's bridge (lab/net.sh). */
export const LAB_BRIDGE = "okbr0";

/**
 * Puts `ns` on the lab bridge as a lab host is (lab/net.sh): `eth0` in the namespace with
 * `address` (CIDR), the other end `outside` enslaved to the bridge. Removing the namespace
 * removes both ends.
 */
export function joinLabBridge(ns: EmptyNetns, address: string, outside: string): void {
  if (spawnSync("ip", ["link", "show", "dev", LAB_BRIDGE, "type", "bridge"]).status !== 0)
    throw new Error(`the lab is not up: there is no bridge ${LAB_BRIDGE}`);
  spawnSync("ip", ["link", "del", outside]);
  execFileSync("ip", [
    "link",
    "add",
    outside,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    ns.name,
  ]);
  // IPv4 only, as the lab (no router solicitations on the bridge).
  spawnSync("sysctl", ["-qw", `net.ipv6.conf.${outside}.disable_ipv6=1`]);
  execFileSync("ip", ["link", "set", outside, "master", LAB_BRIDGE, "up"]);
  spawnSync("ip", ["netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  execFileSync("ip", ["-n", ns.name, "addr", "add", address, "dev", "eth0"]);
  execFileSync("ip", ["-n", ns.name, "link", "set", "eth0", "up"]);
}

/**
 * A network namespace on the lab bridge with an address of its own: a LAN client that is not
 * this machine (10.86.0.1), e.g. an intruder for fail2ban to ban.
 */
export class LabClientNetns extends EmptyNetns {
  constructor(
    prefix: string,
    /** Its address on the lab network; no lab host may use it. */
    readonly address: string,
  ) {
    super(prefix);
    joinLabBridge(this, `${address}/24`, `okc${process.pid % 100000}`);
  }
}
