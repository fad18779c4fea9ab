import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type { ConfigSetImpl } from "./impl";

/**
 * Where impl.ts is, relative to the Pulumi program's directory, fixed when the program
 * runs. The engine starts the dynamic provider process in that same directory, so a
 * relative path keeps working for refresh and destroy from a fresh clone elsewhere,
 * where an absolute path captured into state would not.
 */
const IMPL_FROM_PROGRAM_DIR = path.relative(process.cwd(), path.join(__dirname, "impl"));

/**
 * Loads the implementation inside the provider process, once. Pulumi serializes this
 * function (and only it) into state: everything else is `require`d at call time, so
 * module state such as the SSH pool is real module state, not a serialized copy.
 * The provider process is plain node, so TypeScript needs a loader: tsx, registered
 * only when no loader (ts-node in the program process, tsx under mocha) is present.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- call-time require is the point: see above */
function load(): ConfigSetImpl {
  const key = Symbol.for("okome-cache.configSet.impl");
  const g = globalThis as { [key: symbol]: ConfigSetImpl | undefined };
  let impl = g[key];
  if (!impl) {
    const file = require("node:path").resolve(process.cwd(), IMPL_FROM_PROGRAM_DIR);
    if (!require.extensions[".ts"]) require("tsx/cjs/api").register();
    impl = (require(file) as { implementation: ConfigSetImpl }).implementation;
    g[key] = impl;
  }
  return impl;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The object Pulumi serializes: thin forwarders, no captured state but one string. */
export const configSetProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => load().check(olds, news),
  diff: (id, olds, news) => load().diff(id, olds, news),
  create: (inputs) => load().create(inputs),
  read: (id, props) => load().read(id, props),
  update: (id, olds, news) => load().update(id, olds, news),
  delete: (id, props) => load().delete(id, props),
};
