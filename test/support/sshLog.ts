/**
 * Reads the providers' SSH log ($OKOME_SSH_LOG, written by providers/ssh/session.ts): one line
 * `<time> pid=<pid> <event> <host name> <address>:<port> [detail]` per connection attempt
 * (`attempt`), established connection (`connect`), retry and command (`exec`).
 */
import * as fs from "node:fs";

/** The log's text; "" when nothing was logged (the file is created by the first line). */
export function readSshLog(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/** The lines of `event` in a log's text. */
export function sshEvents(log: string, event: string): string[] {
  return log.split("\n").filter((l) => new RegExp(` pid=\\d+ ${event} `).test(l));
}

/** How many `event` lines each host has, by host name: `{ "okome-edge": 1 }`. */
export function sshEventsByHost(log: string, event: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of log.matchAll(new RegExp(` pid=\\d+ ${event} (\\S+) `, "g")))
    counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  return counts;
}
