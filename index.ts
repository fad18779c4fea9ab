import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, parseStackConfig } from "./components/config";

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

const stack = parseStackConfig(raw);

export const environment = stack.environment;
export const vip = stack.vip;
export const edgeAddress = stack.edge.address;
export const modelAddress = stack.model.address;
