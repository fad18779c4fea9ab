import * as pulumi from "@pulumi/pulumi";
import { HostConnection, HostResource } from "../host/resource";
import { configSetDigest } from "./digest";
import { configSetProvider } from "./provider";
import { FileState, ServiceKind } from "./wire";

/** One file of a config set: also the type components render their files as (components/kit). */
export interface ManagedFile {
  /** Absolute, normalized path on the host. */
  path: string;
  content: string;
  /** Octal string; default "0644". Not world-writable, no setuid/setgid/sticky. */
  mode?: string;
  /** Default "root". */
  owner?: string;
  /** Default "root". */
  group?: string;
  /** Mode of the file's directory when the set has to create it; default "0755" (e.g. "0700" for a secrets dir). */
  dirMode?: string;
  /**
   * Keeps the content a secret in state and masks it in diffs (a Redis ACL password).
   * Implied when the file (or the whole list) is a secret Output.
   */
  secret?: boolean;
}

export interface ConfigSetArgs {
  connection: pulumi.Input<HostConnection>;
  /**
   * What the set configures: decides the validator and safety net it must have (SERVICE_RULES)
   * and which config paths it may write (only kind "nginx" writes under /etc/nginx/).
   * "plain" for anything without a rule.
   */
  kind: ServiceKind;
  /** The set's name on the host ("redis", "nginx-site"): messages, logs and the transaction dir. [a-z0-9_-]. */
  service: string;
  /** The set's files; paths must be unique. */
  files: pulumi.Input<pulumi.Input<ManagedFile>[]>;
  /**
   * Run with sudo after the new files are in place, before activation (`nginx -t`).
   * Required for sshd, nftables, nginx, keepalived and redis (see SERVICE_RULES).
   */
  validate?: pulumi.Input<string>;
  /** Run with sudo to apply the new files: a reload wherever the service can. */
  activate: pulumi.Input<string>;
  /** Probe run with sudo after activation; a non-zero exit rolls the set back. */
  verify?: pulumi.Input<string>;
  /**
   * For changes that can cut access (required for sshd, nftables): the host restores the
   * old config after timeoutSeconds (10-3600) unless a fresh login with the deploy key works.
   */
  deadman?: pulumi.Input<{ timeoutSeconds: number }>;
  /** Bound on each of validate, activate and verify on the host; default 60 s. */
  stepTimeoutSeconds?: number;
  /** How long to wait for the host's transaction lock before failing with its holder; default 600 s. */
  lockWaitSeconds?: number;
  /**
   * Directories that a non-root user can write and that this set writes into all the same.
   * Any other such parent is refused: its owner could swap the file or a parent for a link.
   */
  userWritableDirs?: string[];
}

/** A file entry as the resource sends it; a secret file's content travels in `secretContents`. */
interface WireFileInput {
  content?: string;
  mode?: string;
  dirMode?: string;
  owner?: string;
  group?: string;
  secret: boolean;
}

/**
 * Turns the files list into the path-keyed map the engine stores. Keyed by path so a
 * preview diffs a file against its own past, not against whatever sat at the same list
 * index; duplicates cannot live in a map, so they travel as issues for check() to report.
 * Secret contents go in a separate map that is sent as one secret: a secret nested in
 * `files` would make Pulumi mark the whole map secret and mask every diff.
 */
export function filesToWire(list: readonly ManagedFile[]): {
  files: Record<string, WireFileInput>;
  secretContents: Record<string, string>;
  issues: { path: string; reason: string }[];
} {
  const files: Record<string, WireFileInput> = {};
  const secretContents: Record<string, string> = {};
  const first = new Map<string, number>();
  const issues: { path: string; reason: string }[] = [];
  list.forEach((f, i) => {
    const seen = first.get(f.path);
    if (seen !== undefined) {
      issues.push({
        path: `files[${i}].path`,
        reason: `duplicates files[${seen}].path (${f.path})`,
      });
      return;
    }
    first.set(f.path, i);
    const secret = f.secret === true;
    if (secret) secretContents[f.path] = f.content;
    files[f.path] = {
      ...(!secret && { content: f.content }),
      ...(f.mode !== undefined && { mode: f.mode }),
      ...(f.dirMode !== undefined && { dirMode: f.dirMode }),
      ...(f.owner !== undefined && { owner: f.owner }),
      ...(f.group !== undefined && { group: f.group }),
      secret,
    };
  });
  return { files, secretContents, issues };
}

/** Resolves each file, marking it secret when it arrived as a secret Output. */
export function resolveFiles(files: ConfigSetArgs["files"]): pulumi.Output<ManagedFile[]> {
  const withSecrecy = (o: pulumi.Output<ManagedFile>) =>
    pulumi
      .all([pulumi.unsecret(o), pulumi.output(pulumi.isSecret(o))])
      .apply(([f, isSecret]) => ({ ...f, secret: f.secret === true || isSecret }));
  if (Array.isArray(files)) {
    return pulumi.all(
      files.map((f) => withSecrecy(pulumi.output(f) as pulumi.Output<ManagedFile>)),
    );
  }
  // A list that is itself a secret Output: every file in it is treated as secret.
  const list = pulumi.output(files) as pulumi.Output<ManagedFile[]>;
  return pulumi
    .all([pulumi.unsecret(list), pulumi.output(pulumi.isSecret(list))])
    .apply(([l, isSecret]) => l.map((f) => ({ ...f, secret: f.secret === true || isSecret })));
}

/**
 * One service's config files on one host, applied as a transaction: back up -> write
 * atomically -> validate -> activate -> verify, rolled back on any failure. Preview
 * diffs from state and opens no SSH; refresh reads the host and shows hand edits.
 */
export class ConfigSet extends HostResource {
  declare readonly kind: pulumi.Output<ServiceKind>;
  declare readonly service: pulumi.Output<string>;
  /** Path -> content, mode, owner, group and sha256 as last applied (or read by refresh). */
  declare readonly files: pulumi.Output<Record<string, FileState>>;
  declare readonly validate: pulumi.Output<string | undefined>;
  declare readonly activate: pulumi.Output<string>;
  declare readonly verify: pulumi.Output<string | undefined>;
  /**
   * sha256 of the set as last applied (files, modes, owners, commands): it changes when, and only
   * when, the set applies a change. Not secret: a hash of hashes tells nothing of a secret file.
   */
  readonly digest: pulumi.Output<string>;

  constructor(name: string, args: ConfigSetArgs, opts?: pulumi.CustomResourceOptions) {
    const wire = resolveFiles(args.files).apply(filesToWire);
    super(
      configSetProvider,
      "ConfigSet",
      name,
      {
        connection: args.connection,
        kind: args.kind,
        service: args.service,
        files: wire.apply((w) => w.files),
        secretContents: wire.apply((w) =>
          Object.keys(w.secretContents).length > 0 ? pulumi.secret(w.secretContents) : undefined,
        ),
        listIssues: wire.apply((w) => (w.issues.length > 0 ? w.issues : undefined)),
        validate: args.validate,
        activate: args.activate,
        verify: args.verify,
        deadman: args.deadman,
        stepTimeoutSeconds: args.stepTimeoutSeconds,
        lockWaitSeconds: args.lockWaitSeconds,
        userWritableDirs: args.userWritableDirs,
        originals: undefined,
      },
      opts,
    );
    const state = pulumi.output({
      kind: this.kind,
      service: this.service,
      files: this.files,
      validate: this.validate,
      activate: this.activate,
      verify: this.verify,
    });
    this.digest = pulumi.unsecret(state).apply(configSetDigest);
  }
}
