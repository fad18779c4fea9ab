import * as os from "node:os";
import * as path from "node:path";

/** Expands a leading `~` the way a shell would, so configs can name home-relative paths. */
export function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}
