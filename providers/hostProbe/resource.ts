import * as pulumi from "@pulumi/pulumi";
import { HostConnection, HostResource } from "../host/resource";
import { hostProbeProvider } from "./provider";

export interface HostProbeArgs {
  connection: pulumi.Input<HostConnection>;
  /**
   * A read-only shell command run as root (through sh) that prints one JSON value on stdout.
   * Runs on create, whenever command or triggers change, and on every refresh.
   */
  command: pulumi.Input<string>;
  /** Values whose change runs the probe again (e.g. the hashes of the config sets it reports on). Default none. */
  triggers?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * Facts read from one host by a command that prints JSON (virtualization, a pending reboot,
 * settings a host skipped). Preview opens no SSH; deleting the resource does nothing.
 */
export class HostProbe extends HostResource {
  /** The command's stdout, parsed as JSON. */
  declare readonly result: pulumi.Output<unknown>;

  constructor(name: string, args: HostProbeArgs, opts?: pulumi.CustomResourceOptions) {
    super(hostProbeProvider, "HostProbe", name, { ...args, result: undefined }, opts);
  }
}
