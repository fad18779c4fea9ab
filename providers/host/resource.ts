import * as pulumi from "@pulumi/pulumi";

/** How a provider reaches one host. Plain values or Pulumi inputs. */
export interface HostConnection {
  /** Host name ("okome-edge"): used in every message and error. A new name replaces the resource. */
  name: string;
  /** IP address or DNS name. */
  address: string;
  /** SSH port; default 22. */
  port?: number;
  /** Deploy user; needs passwordless sudo unless it is root. */
  user: string;
  /** Private key file, read by the provider at apply time so the key never enters state. Exclusive with privateKey. */
  privateKeyPath?: string;
  /** The private key itself; pass a secret. Exclusive with privateKeyPath. */
  privateKey?: pulumi.Input<string>;
  /** Pinned host key "ssh-ed25519 AAAA..."; else knownHostsFile; else the first key seen is kept in state (a changed key fails). */
  hostKey?: string;
  /** OpenSSH known_hosts file pinning the host (hashed names and [host]:port supported). */
  knownHostsFile?: string;
}

/** A dynamic resource about one host, type `okome:<type>`: every one reports the host and the key it trusts. */
export abstract class HostResource extends pulumi.dynamic.Resource {
  /** The host's name (connection.name). */
  declare readonly host: pulumi.Output<string>;
  /** The host key this resource trusts ("ssh-ed25519 AAAA..."): the pinned one, or the one seen first. */
  declare readonly hostKey: pulumi.Output<string>;

  constructor(
    provider: pulumi.dynamic.ResourceProvider,
    type: string,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(provider, name, { ...props, host: undefined, hostKey: undefined }, opts, "okome", type);
  }
}
