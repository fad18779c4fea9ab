import * as pulumi from "@pulumi/pulumi";
import {
  CONFIG_NAMESPACE,
  HostSpec,
  parseStackConfig,
  validateStackConfig,
} from "./components/config";
import { assertNoIssues } from "./common/issues";
import { ModelCacheNode } from "./components/ModelCacheNode";
import { MODEL_CACHE_CONFIG_KEYS, readModelCacheConfig } from "./components/modelCacheConfig";
import type { HostConnection } from "./providers";

const settings = new pulumi.Config(CONFIG_NAMESPACE);
const rawKeys = [
  "environment",
  "vip",
  "edgeAddress",
  "modelAddress",
  "orchestrator",
  "sshUser",
  "sshPrivateKeyPath",
  "knownHostsFile",
  "edgeHostKey",
  "modelHostKey",
] as const;
const raw: Record<string, unknown> = Object.fromEntries(rawKeys.map((k) => [k, settings.get(k)]));
// The inline key is a secret: only its presence matters to validation.
raw.sshPrivateKey = settings.getSecret("sshPrivateKey") === undefined ? undefined : "(secret)";

const modelCacheConfig = readModelCacheConfig({
  modelAddress: settings.get("modelAddress"),
  vip: settings.get("vip"),
  ...Object.fromEntries(Object.values(MODEL_CACHE_CONFIG_KEYS).map((k) => [k, settings.get(k)])),
});
// Every bad key at once, before any resource is registered.
assertNoIssues(`stack config (${CONFIG_NAMESPACE})`, [
  ...validateStackConfig(raw),
  ...modelCacheConfig.issues,
]);
const stack = parseStackConfig(raw);

const connection = (host: HostSpec): HostConnection => ({
  name: host.name,
  address: host.address,
  user: stack.ssh.user,
  privateKeyPath: stack.ssh.privateKeyPath,
  privateKey: settings.getSecret("sshPrivateKey"),
  hostKey: host.hostKey,
  knownHostsFile: stack.ssh.knownHostsFile,
});

const modelCache = new ModelCacheNode("model-cache", {
  ...modelCacheConfig.args,
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
