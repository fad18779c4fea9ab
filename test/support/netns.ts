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
