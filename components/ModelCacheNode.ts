import * as pulumi from "@pulumi/pulumi";
import { ConfigSet, type ManagedFile, type ServiceKind } from "../providers";
import { assertNoIssues } from "../common/issues";
import {
  MaxmemoryPolicy,
  ModelCacheFiles,
  ModelCacheNodeArgs,
  RESERVED_USERS,
  modelCacheCommands,
  passwordSha256,
  renderModelCache,
  renderModelCacheSecrets,
  resolveModelCacheArgs,
  validateModelCacheArgs,
} from "./modelCache";
import { SecretPassword } from "./SecretPassword";

export * from "./modelCache";

/**
 * The OKOME model cache: Redis on one Pi as an LRU cache without persistence, ACL users with
 * generated passwords, changes applied live (CONFIG SET) so the cache survives them, and an
 * optional Prometheus exporter. Children, in the order they apply: `<name>-scripts` (the host
 * scripts), `<name>-config` (redis.conf, users.acl and the admin's password file; applied live),
 * then `<name>-restart` (changes only when a restart-only setting does, so preview shows
 * restarts) and `<name>-exporter`; and a `<name>-<user>-password` per ACL user.
 */
export class ModelCacheNode extends pulumi.ComponentResource {
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

  constructor(name: string, args: ModelCacheNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    // Every issue at once, before anything (this component included) is registered.
    assertNoIssues(`ModelCacheNode ${name}`, validateModelCacheArgs(args));
    super("okome:infra:ModelCacheNode", name, {}, opts);
    const a = resolveModelCacheArgs(args);
    const parent = { parent: this };

    const password = (user: string) =>
      new SecretPassword(`${name}-${user}-password`, {}, parent).password;
    const passwords: Record<string, pulumi.Output<string>> = {};
    for (const user of [
      RESERVED_USERS.admin,
      RESERVED_USERS.monitor,
      ...a.users.map((u) => u.name),
    ]) {
      passwords[user] = password(user);
    }
    // The hash of a 256-bit random password reveals nothing: it may sit in state and diffs in clear.
    const hashes = pulumi.unsecret(
      pulumi
        .all(passwords)
        .apply((ps) =>
          Object.fromEntries(Object.entries(ps).map(([u, p]) => [u, passwordSha256(p)])),
        ),
    );
    const files = hashes.apply((h) => renderModelCache(args, h));
    const secretFiles = pulumi
      .all([passwords[RESERVED_USERS.admin], passwords[RESERVED_USERS.monitor]])
      .apply(([adminPassword, monitorPassword]) =>
        renderModelCacheSecrets(args, { adminPassword, monitorPassword }),
      );
    const commands = modelCacheCommands(args);
    // Not a secret list, which would make every file secret and hide redis.conf's diff: each
    // secret file carries `secret: true`, and the ConfigSet keeps its content secret.
    const setFiles = (role: keyof ModelCacheFiles): pulumi.Input<ManagedFile[]> =>
      pulumi.unsecret(pulumi.all([files, secretFiles]).apply(([f, s]) => [...f[role], ...s[role]]));
    const set = (
      role: keyof ModelCacheFiles,
      kind: ServiceKind,
      service: string,
      after: pulumi.Resource[],
    ) =>
      new ConfigSet(
        `${name}-${role}`,
        { connection: args.connection, kind, service, files: setFiles(role), ...commands[role] },
        { ...parent, dependsOn: after },
      );
    const scripts = set("scripts", "plain", "redis-scripts", []);
    const config = set("config", "redis", "redis", [scripts]);
    set("restart", "plain", "redis-restart", [config]);
    set("exporter", "plain", "redis-exporter", [config]);

    const appUsers = a.users.map((u) => u.name);
    this.address = pulumi.output(a.host.address);
    this.port = pulumi.output(a.port);
    this.username = pulumi.output(appUsers[0]);
    this.password = pulumi.secret(passwords[appUsers[0]]);
    this.passwords = pulumi.secret(
      pulumi.all(Object.fromEntries(appUsers.map((u) => [u, passwords[u]]))),
    );
    this.monitorUsername = pulumi.output(RESERVED_USERS.monitor);
    this.monitorPassword = pulumi.secret(passwords[RESERVED_USERS.monitor]);
    this.maxmemory = pulumi.output(a.maxmemory);
    this.maxmemoryPolicy = pulumi.output(a.maxmemoryPolicy);
    this.exporter = pulumi.output(a.exporter);
    this.exporterUrl = pulumi.output(
      a.exporter ? `http://${a.host.address}:${a.exporterPort}/metrics` : undefined,
    );
    this.registerOutputs({
      address: this.address,
      port: this.port,
      username: this.username,
      password: this.password,
      passwords: this.passwords,
      monitorUsername: this.monitorUsername,
      monitorPassword: this.monitorPassword,
      maxmemory: this.maxmemory,
      maxmemoryPolicy: this.maxmemoryPolicy,
      exporter: this.exporter,
      exporterUrl: this.exporterUrl,
    });
  }
}
