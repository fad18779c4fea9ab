import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import type { ConfigSet } from "../providers";
import type { StackConfig } from "./config";

/**
 * The validation suite on the outputs it reads from stdin. Relative: the command provider runs
 * commands in the project directory, and a machine's own paths in the command would make every
 * other machine's `up` see a change.
 */
export const VALIDATION_COMMAND = "node_modules/.bin/tsx test/validate/index.ts --outputs -";

export interface DeploymentGateArgs {
  /** Every config set of the program: the gate runs again when any of them changes. */
  readonly configSets: readonly ConfigSet[];
  /** The stack outputs as the program exports them: all that the suite reads. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly stack: Pick<StackConfig, "environment" | "validateAfterUp">;
}

/**
 * The deployment gate: at the end of `pulumi up`, the validation suite on the stack outputs,
 * which `pulumi stack output` cannot read until the update ends, so they go on stdin (a secret:
 * they hold the Redis passwords). The command is replaced, so it runs again, whenever a config
 * set's digest changes, and updated, so it runs again, whenever an output does; a failed check
 * fails it and with it `up`, its message the suite's report with the FAIL lines. Checks that
 * write run on the lab only. Nothing when the stack's `validateAfterUp` is false; nothing runs
 * on preview (the command provider only runs commands on `up`).
 */
export function deploymentGate(name: string, args: DeploymentGateArgs): local.Command | undefined {
  if (!args.stack.validateAfterUp) return undefined;
  const active = args.stack.environment === "lab" ? " --active" : "";
  return new local.Command(
    name,
    {
      create: `${VALIDATION_COMMAND}${active}`,
      stdin: pulumi.jsonStringify(pulumi.output(args.outputs)),
      triggers: args.configSets.map((set) => set.digest),
    },
    { dependsOn: [...args.configSets] },
  );
}
