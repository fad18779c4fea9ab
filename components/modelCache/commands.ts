import type { HostCommands } from "../kit";
import { HOST_SCRIPTS, REDIS_EXPORTER } from "../platform";
import { ModelCacheSpec, resolveModelCacheArgs } from "./args";
import type { ModelCacheRole } from "./render";

/** The host commands of the node's config sets (run as root by the ConfigSet transaction). */
export function modelCacheCommands(spec: ModelCacheSpec) {
  const resolved = resolveModelCacheArgs(spec);
  const unit = REDIS_EXPORTER.unit;
  const metrics = `http://${resolved.host.address}:${resolved.exporterPort}/metrics`;
  return {
    // Config ownership must be right before the config set writes into /etc/redis. On delete the
    // script is already gone and the root-owned layout stays (docs/DECISIONS.md).
    scripts: {
      activate: `if [ -x ${HOST_SCRIPTS.redisOwnership} ]; then ${HOST_SCRIPTS.redisOwnership}; fi`,
    },
    config: {
      validate: HOST_SCRIPTS.redisServerCandidate,
      activate: HOST_SCRIPTS.redisApply,
      verify: `${HOST_SCRIPTS.redisApply} --check`,
    },
    restart: {
      activate: HOST_SCRIPTS.redisRestart,
      verify: `${HOST_SCRIPTS.redisRestart} --check`,
    },
    exporter: resolved.exporter
      ? {
          activate: `systemctl enable ${unit} && systemctl restart ${unit}`,
          verify: `timeout 20 sh -c 'until curl -fsS ${metrics} | grep -q "^redis_up 1"; do sleep 0.5; done'`,
        }
      : {
          activate: `systemctl disable --now ${unit}`,
          verify: `! systemctl is-active --quiet ${unit}`,
        },
  } satisfies Record<ModelCacheRole, HostCommands>;
}
