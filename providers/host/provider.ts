import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** What a provider's impl.ts exports as `implementation`. */
export type ProviderImpl = Required<
  Pick<pulumi.dynamic.ResourceProvider, "check" | "diff" | "create" | "read" | "update" | "delete">
>;

/**
 * Where the impl.ts next to `dir` is, relative to the Pulumi program's directory, fixed when
 * the program runs. The engine starts the dynamic provider process in that same directory,
 * so a relative path keeps working for refresh and destroy from a fresh clone elsewhere,
 * where an absolute path captured into state would not.
 */
export const implFromProgramDir = (dir: string) =>
  path.relative(process.cwd(), path.join(dir, "impl"));

/**
 * The object Pulumi serializes into state: thin forwarders that load the implementation in
 * the provider process at call time, once per `cacheKey`, and capture nothing but two
 * strings. Everything else is `require`d, so module state such as the SSH pool is real module
 * state shared by every provider, not a serialized copy. The provider process is plain node,
 * so TypeScript needs a loader: tsx, registered only when no loader (ts-node in the program
 * process, tsx under mocha) is present.
 */
export function callTimeProvider(
  implPath: string,
  cacheKey: string,
): pulumi.dynamic.ResourceProvider {
  /* eslint-disable @typescript-eslint/no-require-imports -- call-time require is the point: see above */
  function load(): ProviderImpl {
    const key = Symbol.for(cacheKey);
    const g = globalThis as { [key: symbol]: ProviderImpl | undefined };
    let impl = g[key];
    if (!impl) {
      const file = require("node:path").resolve(process.cwd(), implPath);
      if (!require.extensions[".ts"]) require("tsx/cjs/api").register();
      impl = (require(file) as { implementation: ProviderImpl }).implementation;
      g[key] = impl;
    }
    return impl;
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}
