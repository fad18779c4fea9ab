import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, HostSpec, parseStackConfig } from "./components/config";
import { isSecretKey, readStack } from "./components/stack";
import { assertNoIssues } from "./common/issues";
import { ModelCacheNode } from "./components/ModelCacheNode";
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
const { raw, modelCache: modelCacheReading, issues } = readStack(read, context);
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

const modelCache = new ModelCacheNode("model-cache", {
  ...modelCacheReading.args,
  host: stack.model,
  connection: connection(stack.model),
});
export const environment = stack.environment;
export const vip = stack.vip;
export const edgeAddress = stack.edge.address;
export const modelAddress = stack.model.address;

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
