/**
 * The program's shared first half: the stack config read and checked, and the OS baseline of
 * both nodes. index.ts builds the caches on top; the lab's OS-baseline fixture
 * (test/lab/fixtures/os-baseline) deploys this half alone, so the qemu suite spends its TCG
 * minutes on what needs a real kernel.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, HostSpec, StackConfig, parseStackConfig } from "./config";
import { StackReading, isSecretKey, readStack } from "./stack";
import { assertNoIssues } from "../common/issues";
import { HardenedPi } from "./HardenedPi";
import { modelCachePackages } from "./modelCache";
import { edgeCachePackages } from "./edgeCache";
import { vipPairPackages } from "./vipPair";
import type { HostConnection } from "../providers";

export interface Program extends Omit<StackReading, "issues" | "raw"> {
  readonly stack: StackConfig;
  /** How the program logs in to `host`. */
  readonly connection: (host: HostSpec) => HostConnection;
  /** How the validation suite logs in to read the nodes (read-only): no secret, paths only. */
  readonly deployAccess: {
    readonly user: string;
    readonly privateKeyPath?: string;
    readonly knownHostsFile?: string;
  };
}

/** Reads the stack config; every bad key at once, before any resource is registered. */
export function readProgram(): Program {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  // A secret is read as a secret; validation needs only to know that it is set.
  const read = (name: string) =>
    isSecretKey(name)
      ? config.getSecret(name) === undefined
        ? undefined
        : "(secret)"
      : config.get(name);
  const context = { stack: pulumi.getStack() };
  const { raw, issues, ...readings } = readStack(read, context);
  assertNoIssues(`stack config (${CONFIG_NAMESPACE})`, issues);
  const stack = parseStackConfig(raw, context);
  const connection = (host: HostSpec): HostConnection => ({
    name: host.name,
    address: host.address,
    user: stack.ssh.user,
    privateKeyPath: stack.ssh.privateKeyPath,
    privateKey: config.getSecret("sshPrivateKey"),
    hostKey: host.hostKey,
    knownHostsFile: stack.ssh.knownHostsFile,
  });
  const deployAccess = {
    user: stack.ssh.user,
    privateKeyPath: stack.ssh.privateKeyPath,
    knownHostsFile: stack.ssh.knownHostsFile,
  };
  return { ...readings, stack, connection, deployAccess };
}

/** The OS baseline of both nodes, with the packages of everything index.ts puts on each. */
export function osBaseline(program: Program) {
  const { stack, hardening, connection } = program;
  const hardenedPi = (role: string, host: HostSpec, packages: readonly string[]) =>
    new HardenedPi(`${role}-os`, {
      ...hardening.args,
      host,
      connection: connection(host),
      sshUser: stack.ssh.user,
      packages: [...(hardening.args.packages ?? []), ...packages],
    });
  const edgeOs = hardenedPi("edge", stack.edge, [...edgeCachePackages(), ...vipPairPackages()]);
  // The model node also runs the standby edge, where the VIP goes when the edge fails.
  const modelOs = hardenedPi("model", stack.model, [
    ...modelCachePackages({ ...program.modelCache.args, host: stack.model }),
    ...edgeCachePackages(),
    ...vipPairPackages(),
  ]);
  const perHost = (field: "pendingReboots" | "skipped") =>
    pulumi
      .all([edgeOs.report, modelOs.report])
      .apply((reports) =>
        reports.flatMap((report, i) =>
          report[field].map((line) => `${[stack.edge, stack.model][i].name}: ${line}`),
        ),
      );
  return {
    edgeOs,
    modelOs,
    /** The stack outputs of this half, as index.ts and the fixture export them. */
    outputs: {
      environment: stack.environment,
      vip: stack.vip,
      edgeAddress: stack.edge.address,
      modelAddress: stack.model.address,
      deployAccess: program.deployAccess,
      // The OS baseline of each node, as the validation suite checks it.
      edgeHardening: edgeOs.summary,
      modelHardening: modelOs.summary,
      /** The admin machine's wg-quick config per node (secret), when the stack turns WireGuard on. */
      wireguardPeerConfigs: pulumi.secret({
        [stack.edge.name]: edgeOs.wireguardPeerConfig,
        [stack.model.name]: modelOs.wireguardPeerConfig,
      }),
      /** What waits for a reboot, as "<host>: <what>" (empty when nothing does). */
      pendingReboots: perHost("pendingReboots"),
      /** Settings a host could not take (kernel-wide ones under nspawn), as "<host>: <what>". */
      skippedSettings: perHost("skipped"),
    },
  };
}
