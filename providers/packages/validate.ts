/** PackageBaseline's check() and diff(): pure, from inputs and state alone (no SSH). */
import { Issue } from "../../common/issues";
import { Collector, checkConnection, isUnknown, withConnectionDefaults } from "../host/validate";
import { connectionReplaces, hasUnknowns } from "../host/wire";
import { DEBIAN_PACKAGE_NAME } from "./dpkg";
import { PackageInputs, PackageOutputs } from "./wire";

/** Every problem in a package baseline's inputs, each named by its property path. */
export function validateInputs(raw: Record<string, unknown>): Issue[] {
  const c = new Collector();
  checkConnection(c, raw.connection);
  const packages = raw.packages;
  if (!isUnknown(packages)) {
    if (!Array.isArray(packages) || packages.length === 0) {
      c.add("packages", "must list at least one package");
    } else {
      packages.forEach((p, i) => {
        if (isUnknown(p)) return;
        if (typeof p !== "string") c.add(`packages[${i}]`, "must be a string");
        else if (!DEBIAN_PACKAGE_NAME.test(p))
          c.add(
            `packages[${i}]`,
            `${JSON.stringify(p)} is not a Debian package name (lower case letters, digits, + - and ., at least two characters, starting with a letter or digit)`,
          );
      });
    }
  }
  if (!isUnknown(raw.install) && typeof raw.install !== "boolean")
    c.add("install", "must be true or false");
  c.string("installStackKey", raw.installStackKey, { required: false });
  return c.issues;
}

/** Inputs as state keeps them: the package list sorted and deduplicated once known. */
export function withDefaults(raw: Record<string, unknown>): PackageInputs {
  const r = raw as unknown as PackageInputs;
  const known = Array.isArray(r.packages) && !hasUnknowns(r.packages);
  return {
    connection: withConnectionDefaults(r.connection),
    packages: known ? [...new Set(r.packages)].sort() : r.packages,
    install: r.install,
    ...(r.installStackKey !== undefined && { installStackKey: r.installStackKey }),
  };
}

/** The declared packages that state does not record as installed: what an up would install. */
export const packagesToInstall = (olds: PackageOutputs, news: PackageInputs) =>
  news.packages.filter((p) => !(p in (olds.installed ?? {})));

/**
 * The engine's diff, from state alone. A package dropped from the list changes nothing on
 * the host (packages are never removed), so it is no change; installStackKey only words an error.
 */
export function diffBaseline(olds: PackageOutputs, news: PackageInputs) {
  if (hasUnknowns(news)) return { changes: true };
  const replaces = connectionReplaces(olds, news);
  const changes =
    replaces.length > 0 ||
    packagesToInstall(olds, news).length > 0 ||
    olds.install !== news.install ||
    JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
  return { changes, replaces };
}
