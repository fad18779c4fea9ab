/** Command lines for a host's shell. Pure. */
import type { SshTarget } from "../ssh/session";

/** Quotes a string for POSIX sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Root needs no sudo; everyone else must have it without a password (`-n` fails instead of prompting). */
export const asRoot = (t: SshTarget, cmd: string) => (t.user === "root" ? cmd : `sudo -n ${cmd}`);
