import type * as pulumi from "@pulumi/pulumi";

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
