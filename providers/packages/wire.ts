/**
 * The PackageBaseline resource as the Pulumi engine stores it. Plain data, no Pulumi
 * imports: this module is loaded by the dynamic provider process too.
 */
import { HostState, WireConnection } from "../host/wire";

/** Every knob of the package step, in one place. */
export const PACKAGE_DEFAULTS = {
  /** apt waits this long for another apt/dpkg (unattended-upgrades) to release its lock. */
  lockTimeoutSeconds: 300,
  /** Bound on one apt-get install: the lock wait, downloads from the mirror, and unpacking on an SD card. */
  installTimeoutMs: 20 * 60_000,
} as const;

export interface PackageInputs {
  connection: WireConnection;
  /** Debian package names, sorted and without duplicates (check() makes them so). */
  packages: string[];
  install: boolean;
  /** The stack key that sets `install`, named in the error that lists missing packages. */
  installStackKey?: string;
}

export interface PackageOutputs extends PackageInputs, HostState {
  /** Package -> version dpkg reports installed, for the declared packages only. */
  installed: Record<string, string>;
}
