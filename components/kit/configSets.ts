import * as pulumi from "@pulumi/pulumi";
import {
  ConfigSet,
  type HostConnection,
  type ManagedFile,
  type ServiceKind,
} from "../../providers";

/** The host commands of one config set (see ConfigSetArgs: run as root in its transaction). */
export interface HostCommands {
  /** Checks the new files before they are activated (`nginx -t`); required for some kinds. */
  readonly validate?: string;
  /** Applies the new files: a reload wherever the service can. */
  readonly activate: string;
  /** Probes the service after activation; a failure rolls the set back. */
  readonly verify?: string;
}

/** A component's rendered files by role (one config set per role). */
export type FilesByRole<Role extends string> = Readonly<Record<Role, readonly ManagedFile[]>>;

/** How one role's files reach the host. */
export interface ConfigSetRole<Role extends string> {
  /** Decides the validator the set must have and where it may write (SERVICE_RULES). */
  readonly kind: ServiceKind;
  /** The set's name on the host (messages, logs, transaction dir). */
  readonly service: string;
  readonly commands: HostCommands;
  /** The dead-man switch, which kinds that can lock the deploy key out need (sshd, nftables). */
  readonly deadman?: { readonly timeoutSeconds: number };
  /** Roles whose sets must be applied first; each is declared before this one. */
  readonly dependsOn: readonly NoInfer<Role>[];
}

/** What {@link configSetsByRole} turns into config sets. */
export interface ConfigSetsByRoleArgs<Role extends string> {
  readonly connection: pulumi.Input<HostConnection>;
  /**
   * The rendered files, from one or more sources: e.g. the plain files, and the files rendered
   * from passwords (a secret Output). Each role's set holds its files from every source, in order.
   */
  readonly files: readonly pulumi.Input<FilesByRole<Role>>[];
  /**
   * Files rendered from a secret, for the roles that hold one: each marked secret, and only its
   * own role's set waits for it, so a first preview (the secret still unknown) shows every other
   * role's files.
   */
  readonly secretFiles?: { readonly [R in Role]?: pulumi.Input<readonly ManagedFile[]> };
  /** Resources every set waits for (e.g. the host's package check). */
  readonly after?: readonly pulumi.Resource[];
  /** The roles, in the order their sets are registered; a role left out has no set (nothing to install). */
  readonly roles: { readonly [R in Role]?: ConfigSetRole<Role> };
}

/**
 * One ConfigSet per role, named `<name>-<role>` and parented to `parent` (the component).
 *
 * Secrets: a file from a secret source is marked `secret: true` (the ConfigSet keeps its content
 * secret), and the list itself is not secret. A secret list would make every file of the set
 * secret and hide, say, redis.conf's diff behind the password file next to it.
 */
export function configSetsByRole<Role extends string>(
  name: string,
  args: ConfigSetsByRoleArgs<Role>,
  parent: pulumi.Resource,
): Partial<Record<Role, ConfigSet>> {
  type Source = { readonly byRole: FilesByRole<Role>; readonly isSecret: boolean };
  const sources = args.files.map((source) => {
    const files = pulumi.output(source) as pulumi.Output<FilesByRole<Role>>;
    return pulumi
      .all([pulumi.unsecret(files), pulumi.output(pulumi.isSecret(files))])
      .apply(([byRole, isSecret]): Source => ({ byRole: byRole as FilesByRole<Role>, isSecret }));
  });
  const markSecret = (file: ManagedFile) => (file.secret ? file : { ...file, secret: true });
  const secretFilesOf = (role: Role) => {
    const files = args.secretFiles?.[role];
    return files === undefined
      ? pulumi.output([])
      : pulumi.unsecret(pulumi.output(files)).apply((list) => list.map(markSecret));
  };
  const filesOf = (role: Role): pulumi.Output<ManagedFile[]> =>
    pulumi
      .all([pulumi.all(sources), secretFilesOf(role)])
      .apply(([all, secret]) => [
        ...(all as Source[]).flatMap(({ byRole, isSecret }) =>
          byRole[role].map((file) => (isSecret ? markSecret(file) : file)),
        ),
        ...(secret as ManagedFile[]),
      ]);
  const sets: Partial<Record<Role, ConfigSet>> = {};
  for (const role of Object.keys(args.roles) as Role[]) {
    const declared = args.roles[role];
    if (declared === undefined) continue;
    const { kind, service, commands, deadman, dependsOn } = declared;
    const after = dependsOn.map((earlier) => {
      const set = sets[earlier];
      if (set === undefined)
        throw new Error(
          `${name}: role ${role} depends on ${earlier}, which is not declared before it`,
        );
      return set;
    });
    sets[role] = new ConfigSet(
      `${name}-${role}`,
      { connection: args.connection, kind, service, files: filesOf(role), deadman, ...commands },
      { parent, dependsOn: [...(args.after ?? []), ...after] },
    );
  }
  return sets;
}
