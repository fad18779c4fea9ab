import { z } from "zod";
import { Issue } from "../../common/issues";
import {
  RawStackValues,
  StackKeyReading,
  readStackKeys,
  stackKey,
  stackValue,
} from "../kit/stackKeys";
import { HARDENED_PI_DEFAULTS, HardenedPiSpec, TmpfsMount } from "./args";
import { validateHardenedPiArgs } from "./validate";

/**
 * The baseline's stack keys (Pulumi.yaml has their descriptions), shared by both nodes. Each
 * parses the text Pulumi hands over; the values are checked by the component's own rules.
 */
export const hardenedPiStackSchema = z.object({
  adminAddresses: stackValue
    .stringList('["192.168.86.10"]')
    .describe("the deploy machine's address or CIDR, which fail2ban never bans, as a list"),
  installPackages: stackValue.boolean().optional(),
  /** Debian packages the operator wants on both nodes besides the components' (htop, tcpdump). */
  extraPackages: stackValue.stringList('["tcpdump"]').optional(),
  raspberryPi: stackValue.boolean().optional(),
  rootDevice: z.string().optional(),
  tmpSize: z.string().optional(),
  varTmpSize: z.string().optional(),
  logSize: z.string().optional(),
  prunedServices: stackValue.stringList('["bluetooth.service"]').optional(),
  nodeExporterPort: stackValue.integer().optional(),
  wireguard: stackValue.boolean().optional(),
  wireguardNetwork: z.string().optional(),
  wireguardPort: stackValue.integer().optional(),
});

/** Every stack key of the baseline, as Pulumi.<stack>.yaml names it without the namespace. */
export const HARDENED_PI_STACK_KEYS = hardenedPiStackSchema.keyof().options;

/** The baseline's arguments that the stack sets (the same for both nodes). */
export type HardenedPiStackArgs = Omit<HardenedPiSpec, "host" | "sshUser">;

/** Defaults of the stack keys that have no argument of their own. */
export const HARDENED_PI_STACK_DEFAULTS = {
  installPackages: true,
  raspberryPi: true,
  wireguardNetwork: "10.87.0.0/24",
  wireguardPort: 51820,
} as const;

/** The stack key of each tmpfs mount point's size. */
const TMPFS_SIZE_KEY: Readonly<Record<string, "tmpSize" | "varTmpSize" | "logSize">> = {
  "/tmp": "tmpSize",
  "/var/tmp": "varTmpSize",
  "/var/log": "logSize",
};

/** The stack key an argument path's issue is about, or undefined when no key sets it. */
function stackKeyOf(argPath: string, tmpfs: readonly TmpfsMount[]): string | undefined {
  const mount = /^tmpfs\[(\d+)\]/.exec(argPath);
  if (mount) {
    const key = TMPFS_SIZE_KEY[tmpfs[Number(mount[1])]?.path ?? ""];
    return key && stackKey(key);
  }
  const wireguard = /^wireguard\.(network|listenPort)/.exec(argPath);
  if (wireguard) return stackKey(wireguard[1] === "network" ? "wireguardNetwork" : "wireguardPort");
  const extra = /^packages(.*)$/.exec(argPath);
  if (extra) return `${stackKey("extraPackages")}${extra[1]}`;
  const [, arg, inside] = /^([A-Za-z]+)(.*)$/.exec(argPath) ?? [];
  return arg !== undefined && arg in hardenedPiStackSchema.shape
    ? `${stackKey(arg)}${inside}`
    : undefined;
}

/**
 * Reads the baseline's arguments from raw stack values and validates them with the component's
 * own rules, each problem named by its full stack key (`okome-cache:adminAddresses[1]`).
 */
export function readHardenedPiStackKeys(raw: RawStackValues): StackKeyReading<HardenedPiStackArgs> {
  const { values, issues } = readStackKeys(hardenedPiStackSchema, raw);
  const d = HARDENED_PI_STACK_DEFAULTS;
  const size = (mount: TmpfsMount) => {
    const key = TMPFS_SIZE_KEY[mount.path];
    return (key && values[key]) ?? mount.size;
  };
  const tmpfs = HARDENED_PI_DEFAULTS.tmpfs.map((mount) => ({ ...mount, size: size(mount) }));
  const args: HardenedPiStackArgs = {
    adminAddresses: values.adminAddresses ?? [],
    installPackages: values.installPackages ?? d.installPackages,
    packages: values.extraPackages ?? [],
    raspberryPi: values.raspberryPi ?? d.raspberryPi,
    tmpfs,
    ...(values.rootDevice !== undefined && { rootDevice: values.rootDevice }),
    ...(values.prunedServices !== undefined && { prunedServices: values.prunedServices }),
    ...(values.nodeExporterPort !== undefined && { nodeExporterPort: values.nodeExporterPort }),
    ...(values.wireguard && {
      wireguard: {
        network: values.wireguardNetwork ?? d.wireguardNetwork,
        listenPort: values.wireguardPort ?? d.wireguardPort,
      },
    }),
  };
  const probe = { ...args, host: { name: "okome-probe", address: "127.0.0.1" }, sshUser: "okome" };
  for (const issue of validateHardenedPiArgs(probe)) {
    const path = stackKeyOf(issue.path, tmpfs);
    // An empty adminAddresses list because the key is missing is reported above.
    if (
      path !== undefined &&
      !(issue.path === "adminAddresses" && values.adminAddresses === undefined)
    )
      issues.push({ path, reason: issue.reason } satisfies Issue);
  }
  return { args, issues };
}
