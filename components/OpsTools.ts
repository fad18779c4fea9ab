import * as pulumi from "@pulumi/pulumi";
import { assertNoIssues } from "../common/issues";
import { configSetsByRole } from "./kit";
import type { ConfigSet } from "../providers";
import {
  OPS_TOOLS_PATHS,
  OpsNodeRole,
  OpsToolsArgs,
  OpsToolsSetRole,
  opsToolsCommands,
  renderOpsTools,
  renderValidateEnv,
  resolveOpsToolsArgs,
  validateOpsToolsArgs,
} from "./opsTools";

/** The tools as installed: what an operator runs, and whether drills may. */
export interface OpsToolsSummary {
  readonly chaosEnabled: boolean;
  readonly nodes: readonly string[];
  readonly chaosScript: string;
  readonly validateScript: string;
  readonly chaosFlag: string;
  readonly validateEnv: string;
  readonly chaosMaxDurationSeconds: number;
}

/**
 * The operator's tools on both nodes: okome-validate (the tier checked with curl and redis-cli,
 * from a node or any LAN machine) and okome-chaos (bounded fault drills, each undone by a
 * systemd timer armed before the fault), with their settings. okome-chaos injects nothing unless
 * /etc/okome/CHAOS_ENABLE exists, which this component writes only while `chaosEnabled` is true.
 * Children per node (`<name>-edge-*`, `<name>-model-*`): `tools` (the scripts, chaos.env, the
 * flag) and `settings` (validate.env, root only: the Redis passwords).
 */
export class OpsTools extends pulumi.ComponentResource {
  readonly summary: pulumi.Output<OpsToolsSummary>;
  /** Every config set of the component: the deployment gate runs when any of them changes. */
  readonly configSets: readonly ConfigSet[];

  constructor(name: string, args: OpsToolsArgs, opts?: pulumi.ComponentResourceOptions) {
    assertNoIssues(`OpsTools ${name}`, validateOpsToolsArgs(args));
    super("okome:infra:OpsTools", name, {}, opts);
    const r = resolveOpsToolsArgs(args);
    const commands = opsToolsCommands();
    const roles = {
      tools: { kind: "plain", service: "ops-tools", commands: commands.tools, dependsOn: [] },
      settings: {
        kind: "plain",
        service: "ops-validate-env",
        commands: commands.settings,
        dependsOn: ["tools"],
      },
    } as const;
    const redis = args.redis;
    const secrets = pulumi
      .all([
        redis.port,
        redis.monitorUser,
        redis.monitorPassword,
        redis.keysUser,
        redis.keysPassword,
      ])
      .apply(([port, monitorUser, monitorPassword, keysUser, keysPassword]) => ({
        port,
        monitorUser,
        monitorPassword,
        keysUser,
        keysPassword,
      }));
    const configSets: ConfigSet[] = [];
    for (const node of ["edge", "model"] as const satisfies readonly OpsNodeRole[]) {
      const sets = configSetsByRole<OpsToolsSetRole>(
        `${name}-${node}`,
        {
          connection: args[node].connection,
          after: args[node].after,
          files: [renderOpsTools(args, node)],
          secretFiles: {
            settings: pulumi.secret(secrets).apply((s) => renderValidateEnv(args, node, s)),
          },
          roles,
        },
        this,
      );
      configSets.push(...Object.values<ConfigSet>(sets));
    }
    this.configSets = configSets;
    this.summary = pulumi.output<OpsToolsSummary>({
      chaosEnabled: r.chaosEnabled,
      nodes: [r.edge.host.name, r.model.host.name],
      chaosScript: OPS_TOOLS_PATHS.chaosScript,
      validateScript: OPS_TOOLS_PATHS.validateScript,
      chaosFlag: OPS_TOOLS_PATHS.chaosFlag,
      validateEnv: OPS_TOOLS_PATHS.validateEnv,
      chaosMaxDurationSeconds: r.chaos.maxDurationSeconds,
    });
    this.registerOutputs({ summary: this.summary });
  }
}
