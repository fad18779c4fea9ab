import * as pulumi from "@pulumi/pulumi";
import { assertNoIssues } from "../common/issues";
import { configSetsByRole } from "./kit";
import type { ConfigSet } from "../providers";
import {
  MaxmemoryPolicy,
  ModelCacheNodeArgs,
  ModelCacheRole,
  RESERVED_USERS,
  RedisLogin,
  modelCacheCommands,
  passwordSha256,
  passwordUsers,
  renderModelCache,
  renderModelCacheSecrets,
  resolveModelCacheArgs,
  validateModelCacheArgs,
} from "./modelCache";
import { SecretPassword } from "./SecretPassword";

/** What {@link ModelCacheNode} exports (registered as its outputs). */
export interface ModelCacheNodeOutputs {
  /** The address the orchestrator connects to (the node's). */
  readonly address: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** The first application user (the orchestrator's). */
  readonly username: pulumi.Output<string>;
  /** Its password; a secret. */
  readonly password: pulumi.Output<string>;
  /** Every application user's password by user name; a secret. */
  readonly passwords: pulumi.Output<Record<string, string>>;
  /** The read-only monitor user (INFO, CONFIG GET) and its password (a secret). */
  readonly monitorUsername: pulumi.Output<string>;
  readonly monitorPassword: pulumi.Output<string>;
  readonly maxmemory: pulumi.Output<string>;
  readonly maxmemoryPolicy: pulumi.Output<MaxmemoryPolicy>;
  /** Whether the Prometheus exporter runs. */
  readonly exporter: pulumi.Output<boolean>;
  /** The exporter's metrics URL, or undefined when it is off. */
  readonly exporterUrl: pulumi.Output<string | undefined>;
  /** How the edges' health probes log in to SET `okome:health:<node>`; the password is a secret. */
  readonly healthLogin: RedisLogin<pulumi.Output<string>>;
}

/**
 * The OKOME model cache: Redis on one Pi as an LRU cache without persistence, ACL users with
 * generated passwords, changes applied live (CONFIG SET) so the cache survives them, and an
 * optional Prometheus exporter. Children, in the order they apply: `<name>-scripts` (the host
 * scripts), `<name>-config` (redis.conf, users.acl and the admin's password file; applied live),
 * then `<name>-restart` (changes only when a restart-only directive does, so preview shows
 * restarts) and `<name>-exporter`; and a `<name>-<user>-password` per ACL user.
 */
export class ModelCacheNode extends pulumi.ComponentResource implements ModelCacheNodeOutputs {
  readonly address: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly username: pulumi.Output<string>;
  readonly password: pulumi.Output<string>;
  readonly passwords: pulumi.Output<Record<string, string>>;
  readonly monitorUsername: pulumi.Output<string>;
  readonly monitorPassword: pulumi.Output<string>;
  readonly maxmemory: pulumi.Output<string>;
  readonly maxmemoryPolicy: pulumi.Output<MaxmemoryPolicy>;
  readonly exporter: pulumi.Output<boolean>;
  readonly exporterUrl: pulumi.Output<string | undefined>;
  readonly healthLogin: RedisLogin<pulumi.Output<string>>;
  /** The config sets: what a client on the tier waits for, so the users it logs in as exist. */
  readonly ready: pulumi.Resource[];
  /** Every config set of the component: the deployment gate runs when any of them changes. */
  readonly configSets: readonly ConfigSet[];

  constructor(name: string, args: ModelCacheNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    // Every issue at once, before anything (this component included) is registered.
    assertNoIssues(`ModelCacheNode ${name}`, validateModelCacheArgs(args));
    super("okome:infra:ModelCacheNode", name, {}, opts);
    const { outputs, ready } = createModelCacheNode(this, name, args);
    this.ready = ready;
    this.configSets = ready;
    this.address = outputs.address;
    this.port = outputs.port;
    this.username = outputs.username;
    this.password = outputs.password;
    this.passwords = outputs.passwords;
    this.monitorUsername = outputs.monitorUsername;
    this.monitorPassword = outputs.monitorPassword;
    this.maxmemory = outputs.maxmemory;
    this.maxmemoryPolicy = outputs.maxmemoryPolicy;
    this.exporter = outputs.exporter;
    this.exporterUrl = outputs.exporterUrl;
    this.healthLogin = outputs.healthLogin;
    this.registerOutputs({ ...outputs });
  }
}

/** Registers the node's children under `component` (validated args): its outputs and its sets. */
export function createModelCacheNode(
  component: pulumi.Resource,
  name: string,
  args: ModelCacheNodeArgs,
): { outputs: ModelCacheNodeOutputs; ready: ConfigSet[] } {
  const resolved = resolveModelCacheArgs(args);
  const passwords: Record<string, pulumi.Output<string>> = {};
  for (const user of passwordUsers(resolved.users)) {
    passwords[user] = new SecretPassword(
      `${name}-${user}-password`,
      {},
      { parent: component },
    ).password;
  }
  // The hash of a 256-bit random password reveals nothing: it may sit in state and diffs in clear.
  const hashes = pulumi.unsecret(
    pulumi
      .all(passwords)
      .apply((byUser) =>
        Object.fromEntries(
          Object.entries(byUser).map(([user, password]) => [user, passwordSha256(password)]),
        ),
      ),
  );
  const commands = modelCacheCommands(args);
  const sets = configSetsByRole<ModelCacheRole>(
    name,
    {
      connection: args.connection,
      after: args.after,
      files: [
        hashes.apply((byUser) => renderModelCache(args, byUser)),
        pulumi
          .all([passwords[RESERVED_USERS.admin], passwords[RESERVED_USERS.monitor]])
          .apply(([adminPassword, monitorPassword]) =>
            renderModelCacheSecrets(args, { adminPassword, monitorPassword }),
          ),
      ],
      roles: {
        scripts: {
          kind: "plain",
          service: "redis-scripts",
          commands: commands.scripts,
          dependsOn: [],
        },
        config: {
          kind: "redis",
          service: "redis",
          commands: commands.config,
          dependsOn: ["scripts"],
        },
        restart: {
          kind: "plain",
          service: "redis-restart",
          commands: commands.restart,
          dependsOn: ["config"],
        },
        exporter: {
          kind: "plain",
          service: "redis-exporter",
          commands: commands.exporter,
          dependsOn: ["config"],
        },
      },
    },
    component,
  );

  const appUsers = resolved.users.map((user) => user.name);
  const outputs: ModelCacheNodeOutputs = {
    address: pulumi.output(resolved.host.address),
    port: pulumi.output(resolved.port),
    username: pulumi.output(appUsers[0]),
    password: pulumi.secret(passwords[appUsers[0]]),
    passwords: pulumi.secret(
      pulumi.all(Object.fromEntries(appUsers.map((user) => [user, passwords[user]]))),
    ),
    monitorUsername: pulumi.output(RESERVED_USERS.monitor),
    monitorPassword: pulumi.secret(passwords[RESERVED_USERS.monitor]),
    maxmemory: pulumi.output(resolved.maxmemory),
    maxmemoryPolicy: pulumi.output(resolved.maxmemoryPolicy),
    exporter: pulumi.output(resolved.exporter),
    exporterUrl: pulumi.output(
      resolved.exporter
        ? `http://${resolved.host.address}:${resolved.exporterPort}/metrics`
        : undefined,
    ),
    healthLogin: {
      address: resolved.host.address,
      port: resolved.port,
      user: RESERVED_USERS.health,
      password: pulumi.secret(passwords[RESERVED_USERS.health]),
    },
  };
  return { outputs, ready: Object.values<ConfigSet>(sets) };
}
