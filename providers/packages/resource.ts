import * as pulumi from "@pulumi/pulumi";
import { HostConnection, HostResource } from "../host/resource";
import { packageBaselineProvider } from "./provider";

export interface PackageBaselineArgs {
  connection: pulumi.Input<HostConnection>;
  /** Debian package names the host must have; order and duplicates do not matter. At least one. */
  packages: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Whether an up may install the missing ones (`apt-get install` as root, no recommends,
   * from the package lists already on the host). When false, an up fails naming each one.
   */
  install: pulumi.Input<boolean>;
  /** The stack key that sets `install` ("okome-cache:installPackages"), for the error that says how to fix a missing package. */
  installStackKey?: string;
}

/**
 * Debian packages one host must have, checked with one dpkg-query per up and installed with
 * apt-get when allowed. Preview diffs from state and opens no SSH; refresh re-reads dpkg, so
 * a package removed by hand shows as one to add. Deleting the resource removes nothing.
 */
export class PackageBaseline extends HostResource {
  /** Package -> installed version, for the declared packages. */
  declare readonly installed: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: PackageBaselineArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      packageBaselineProvider,
      "PackageBaseline",
      name,
      { ...args, installed: undefined },
      opts,
    );
  }
}
