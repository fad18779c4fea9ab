/**
 * The PackageBaseline provider's side effects. Loaded by the dynamic provider process at
 * call time (see provider.ts), never serialized into state.
 *
 * Delete does nothing on the host: packages are never uninstalled. Other services may need
 * them, and removing one is the operator's decision, not a side effect of a stack change.
 */
import { hostStepProvider } from "../host/lifecycle";
import { asRoot } from "../host/shell";
import { SshSession } from "../ssh/session";
import {
  installCommand,
  installFailedError,
  missingPackages,
  notInstalledError,
  parseQuery,
  queryCommand,
  stillMissingError,
} from "./dpkg";
import { diffBaseline, validateInputs, withDefaults } from "./validate";
import { PACKAGE_DEFAULTS, PackageInputs, PackageOutputs } from "./wire";

async function query(session: SshSession, packages: readonly string[]) {
  const res = await session.exec(queryCommand(packages), { label: "dpkg-query" });
  return parseQuery(session.target.name, res);
}

/** Queries; installs what is missing if allowed; returns the declared packages' versions. */
async function ensure(session: SshSession, inputs: PackageInputs) {
  const host = session.target.name;
  const installed = await query(session, inputs.packages);
  const missing = missingPackages(inputs.packages, installed);
  if (missing.length === 0) return { installed };
  if (!inputs.install) throw notInstalledError(host, missing, inputs.installStackKey);
  const res = await session.exec(asRoot(session.target, installCommand(missing)), {
    label: "apt-get install",
    timeoutMs: PACKAGE_DEFAULTS.installTimeoutMs,
  });
  if (res.code !== 0) throw installFailedError(host, missing, res);
  const after = await query(session, inputs.packages);
  const still = missingPackages(inputs.packages, after);
  if (still.length > 0) throw stillMissingError(host, still);
  return { installed: after };
}

/**
 * Re-reads what dpkg has, so a package removed by hand shows on the next preview. The
 * inputs it reports list only the declared packages still installed: the Node dynamic
 * provider cannot send a detailed diff, so the missing ones show as added to `packages`.
 */
async function reread(session: SshSession, props: PackageOutputs) {
  const installed = await query(session, props.packages);
  const { connection, install, installStackKey } = props;
  const packages = props.packages.filter((p) => p in installed);
  const inputs: PackageInputs = { connection, packages, install };
  if (installStackKey !== undefined) inputs.installStackKey = installStackKey;
  return { observed: { installed }, inputs };
}

export const implementation = hostStepProvider({
  idSuffix: "packages",
  validate: validateInputs,
  withDefaults,
  diff: diffBaseline,
  apply: ensure,
  read: reread,
});
