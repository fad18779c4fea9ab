import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, HostSpec, parseStackConfig } from "./components/config";
import { isSecretKey, readStack } from "./components/stack";
import { assertNoIssues } from "./common/issues";
import { HardenedPi } from "./components/HardenedPi";
import { ModelCacheNode } from "./components/ModelCacheNode";
import { modelCachePackages } from "./components/modelCache";
import { EdgeCacheNode } from "./components/EdgeCacheNode";
import { edgeCachePackages } from "./components/edgeCache";
import type { HostConnection } from "./providers";

const config = new pulumi.Config(CONFIG_NAMESPACE);
// A secret is read as a secret; validation needs only to know that it is set.
const read = (name: string) =>
  isSecretKey(name)
    ? config.getSecret(name) === undefined
      ? undefined
      : "(secret)"
    : config.get(name);
const context = { stack: pulumi.getStack() };
const {
  raw,
  hardening,
  modelCache: modelCacheReading,
  edgeCache: edgeCacheReading,
  issues,
} = readStack(read, context);
// Every bad key at once, before any resource is registered.
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

const modelCacheArgs = {
  ...modelCacheReading.args,
  host: stack.model,
  connection: connection(stack.model),
};
// The OS baseline of each Pi comes before anything else on it.
const hardenedPi = (role: string, host: HostSpec, packages: readonly string[]) =>
  new HardenedPi(`${role}-os`, {
    ...hardening.args,
    host,
    connection: connection(host),
    sshUser: stack.ssh.user,
    packages: [...(hardening.args.packages ?? []), ...packages],
  });
const edgeOs = hardenedPi("edge", stack.edge, edgeCachePackages());
// The model node also runs the standby edge, where the VIP goes when the edge fails.
const modelOs = hardenedPi("model", stack.model, [
  ...modelCachePackages(modelCacheArgs),
  ...edgeCachePackages(),
]);

const modelCache = new ModelCacheNode("model-cache", { ...modelCacheArgs, after: modelOs.ready });
// One edge config for both nodes; only the node (its name and address) differs.
const edge = (name: string, host: HostSpec, os: HardenedPi) =>
  new EdgeCacheNode(name, {
    ...edgeCacheReading.args,
    host,
    connection: connection(host),
    healthLogin: modelCache.healthLogin,
    // The probes log in to the model cache: its users first.
    after: [...os.ready, ...modelCache.ready],
  });
const edgeCache = edge("edge-cache", stack.edge, edgeOs);
const standbyEdge = edge("standby-edge", stack.model, modelOs);
export const environment = stack.environment;
export const vip = stack.vip;
export const edgeAddress = stack.edge.address;
export const modelAddress = stack.model.address;

/** How the validation suite logs in to read the nodes (read-only): no secret, paths only. */
export const deployAccess = {
  user: stack.ssh.user,
  privateKeyPath: stack.ssh.privateKeyPath,
  knownHostsFile: stack.ssh.knownHostsFile,
};
// The OS baseline of each node, as the validation suite checks it.
export const edgeHardening = edgeOs.summary;
export const modelHardening = modelOs.summary;
/** The admin machine's wg-quick config per node (secret), when the stack turns WireGuard on. */
export const wireguardPeerConfigs = pulumi.secret({
  [stack.edge.name]: edgeOs.wireguardPeerConfig,
  [stack.model.name]: modelOs.wireguardPeerConfig,
});
const perHost = (field: "pendingReboots" | "skipped") =>
  pulumi
    .all([edgeOs.report, modelOs.report])
    .apply((reports) =>
      reports.flatMap((report, i) =>
        report[field].map((line) => `${[stack.edge, stack.model][i].name}: ${line}`),
      ),
    );
/** What waits for a reboot, as "<host>: <what>" (empty when nothing does). */
export const pendingReboots = perHost("pendingReboots");
/** Settings a host could not take (kernel-wide ones under nspawn), as "<host>: <what>". */
export const skippedSettings = perHost("skipped");

// Each edge as the validation suite checks it: URLs, limits, the health probe.
export const edgeCacheNode = edgeCache.summary;
export const standbyEdgeNode = standbyEdge.summary;

// What the orchestrator needs to reach the model cache, and what the validation suite checks.
export const modelCacheAddress = modelCache.address;
export const modelCachePort = modelCache.port;
export const modelCacheUser = modelCache.username;
export const modelCachePassword = modelCache.password;
export const modelCacheMonitorUser = modelCache.monitorUsername;
export const modelCacheMonitorPassword = modelCache.monitorPassword;
export const modelCacheMaxmemory = modelCache.maxmemory;
export const modelCacheMaxmemoryPolicy = modelCache.maxmemoryPolicy;
export const modelCacheExporter = modelCache.exporter;
export const modelCacheExporterUrl = modelCache.exporterUrl;
