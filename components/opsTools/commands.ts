import type { HostCommands } from "../kit";
import { OPS_TOOLS_PATHS } from "./paths";
import type { OpsToolsSetRole } from "./render";

/** The host commands of a node's config sets (run as root by the ConfigSet transaction). */
export function opsToolsCommands() {
  const { chaosScript, validateScript, validateEnv } = OPS_TOOLS_PATHS;
  return {
    tools: {
      // On removal there is nothing left to check.
      validate: `[ ! -e ${chaosScript} ] || { bash -n ${chaosScript} && bash -n ${validateScript}; }`,
      // Nothing runs them until an operator does.
      activate: "true",
      // okome-chaos checks its settings before anything else: a bad chaos.env is rolled back.
      verify: `[ ! -e ${chaosScript} ] || ${chaosScript} status >/dev/null`,
    },
    settings: {
      validate: `[ ! -e ${validateEnv} ] || bash -n ${validateEnv}`,
      activate: "true",
    },
  } satisfies Record<OpsToolsSetRole, HostCommands>;
}
