/** What the package step runs on a host and how its answers read. Pure: nothing here touches a host. */
import type { ExecResult } from "../ssh/session";
import { PACKAGE_DEFAULTS } from "./wire";

/**
 * Debian policy 5.6.1: at least two characters, lower case letters, digits and + - .,
 * starting with a letter or digit. The commands below rely on it: no name reads as an
 * option, a shell word or a dpkg-query glob.
 */
export const DEBIAN_PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** dpkg-query fills in the fields; the shell sees a single-quoted literal. */
const QUERY_FORMAT = "${Package}\\t${db:Status-Status}\\t${Version}\\n";

/** Runs as the deploy user: reading dpkg's database needs no root. */
export const queryCommand = (packages: readonly string[]) =>
  `LC_ALL=C dpkg-query -W -f='${QUERY_FORMAT}' ${packages.join(" ")}`;

/**
 * Runs as root. Only the missing packages are named, so apt never upgrades the others. The
 * host's package lists are tried first; only when that fails (a fresh image ships none) are they
 * updated once and the install tried again.
 */
export const installCommand = (packages: readonly string[]) => {
  const install =
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " +
    `-o DPkg::Lock::Timeout=${PACKAGE_DEFAULTS.lockTimeoutSeconds} ${packages.join(" ")}`;
  const update = `apt-get update -q -o DPkg::Lock::Timeout=${PACKAGE_DEFAULTS.lockTimeoutSeconds}`;
  return `sh -c '${install} || { echo "updating the package lists, then trying again" >&2; ${update} && ${install}; }'`;
};

/**
 * States in which dpkg counts a package as configured (dependencies on it are met);
 * `triggers-*` only means a trigger is still to run. Everything else (not-installed,
 * config-files, half-installed, unpacked, half-configured) is missing.
 */
const PRESENT = new Set(["installed", "triggers-pending", "triggers-awaited"]);

/** dpkg-query's exit codes: 1 is "some name matched no package", which we count as missing. */
const QUERY_OK = new Set([0, 1]);

/** Package -> version of the packages dpkg-query reports present. */
export function parseQuery(host: string, res: ExecResult): Record<string, string> {
  if (res.code === null || !QUERY_OK.has(res.code)) {
    const why = res.stderr.trim() || `exit ${res.code ?? res.signal}`;
    throw new Error(`${host}: dpkg-query could not read the package database: ${why}`);
  }
  const installed: Record<string, string> = {};
  for (const line of res.stdout.split("\n")) {
    if (line === "") continue;
    const fields = line.split("\t");
    if (fields.length !== 3)
      throw new Error(
        `${host}: dpkg-query printed a line that is not name/status/version: ${line}`,
      );
    const [name, status, version] = fields;
    // A package of two architectures has a line each; one configured is enough.
    if (PRESENT.has(status)) installed[name] = version;
  }
  return installed;
}

/** The declared packages not in `installed`, in declaration order. */
export const missingPackages = (packages: readonly string[], installed: Record<string, string>) =>
  packages.filter((p) => !(p in installed));

export function notInstalledError(
  host: string,
  missing: readonly string[],
  installStackKey = "install",
): Error {
  return new Error(
    `${host}: packages not installed: ${missing.join(", ")}. ` +
      `This stack does not install packages (${installStackKey} is false): ` +
      `bake them into the image, or set ${installStackKey} true`,
  );
}

export function installFailedError(
  host: string,
  missing: readonly string[],
  res: ExecResult,
): Error {
  const status = res.code === null ? `was killed (${res.signal})` : `exited ${res.code}`;
  const lines = [`${host}: apt-get install ${missing.join(" ")} ${status}:`];
  lines.push((res.stderr.trim() || res.stdout.trim()).split("\n").slice(-20).join("\n"));
  if (/Unable to locate package|has no installation candidate/.test(res.stderr + res.stdout)) {
    lines.push(
      "The host's package lists do not have it: run `sudo apt-get update` on the host (okome-cache never does, so a run does not move the other packages' candidates), or bake the package into the image.",
    );
  }
  if (/sudo/.test(res.stderr))
    lines.push("The deploy user needs passwordless sudo to install packages.");
  return new Error(lines.join("\n"));
}

export function stillMissingError(host: string, missing: readonly string[]): Error {
  return new Error(
    `${host}: apt-get install succeeded but dpkg still does not list as installed: ${missing.join(", ")} (is a package held, or named after a virtual package?)`,
  );
}
