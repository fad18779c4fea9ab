import { OS } from "../platform";
import { HardenedPiSpec, resolveHardenedPiArgs } from "./args";

/** The Debian packages the host must have: the baseline's and its other components', once each, sorted. */
export function hardenedPiPackages(spec: HardenedPiSpec): string[] {
  return [...new Set([...OS.packages, ...resolveHardenedPiArgs(spec).packages])].sort();
}
