import { z } from "zod";
import { Issue, assertNoIssues } from "../common/issues";
import { expandHome } from "../common/paths";

/** The Pulumi config namespace of this project (Pulumi.yaml `name`). */
export const CONFIG_NAMESPACE = "okome-cache";

const ipv4 = z.ipv4({ message: "must be an IPv4 address like 10.86.0.20" });

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "must be host:port, e.g. 10.86.0.25:8000");

const hostKeyLine = z
  .string()
  .regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$/,
    "must be an OpenSSH public key line",
  );

/** Raw stack settings exactly as Pulumi.<stack>.yaml spells them (see Pulumi.yaml for descriptions). */
const stackSchema = z.object({
  environment: z.enum(["lab", "prod"]),
  vip: ipv4,
  edgeAddress: ipv4,
  modelAddress: ipv4,
  orchestrator: hostPort,
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "must be a Unix user name"),
  /** Path of the deploy private key (~ expands); read at apply time, never stored in state. */
  sshPrivateKeyPath: z.string().min(1).optional(),
  /** The deploy private key itself, as a secret; exclusive with sshPrivateKeyPath. */
  sshPrivateKey: z.string().min(1).optional(),
  /** OpenSSH known_hosts file that pins the host keys (the lab tool writes one). */
  knownHostsFile: z.string().min(1).optional(),
  /** Pinned host key lines; without them and a known_hosts entry, the first key seen is pinned in state. */
  edgeHostKey: hostKeyLine.optional(),
  modelHostKey: hostKeyLine.optional(),
});

/** A managed Pi as the providers reach it. */
export interface HostSpec {
  /** Host name used in messages, resource names and the X-OKOME-Node header. */
  readonly name: string;
  readonly address: string;
  /** Pinned OpenSSH host key line; when absent the known_hosts file or state pins it. */
  readonly hostKey?: string;
}

/** Validated, typed stack settings shared by every component. */
export interface StackConfig {
  readonly environment: "lab" | "prod";
  readonly vip: string;
  readonly edge: HostSpec;
  readonly model: HostSpec;
  readonly orchestrator: { readonly host: string; readonly port: number };
  readonly ssh: {
    readonly user: string;
    /** Absolute path of the private key file, when the key is not given inline. */
    readonly privateKeyPath?: string;
    /** Absolute path of the known_hosts file that pins host keys. */
    readonly knownHostsFile?: string;
  };
}

const key = (name: string) => `${CONFIG_NAMESPACE}:${name}`;

/** Rules that span keys; checked even when other keys are malformed, so all issues come at once. */
function crossKeyIssues(raw: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  if ((raw.sshPrivateKeyPath === undefined) === (raw.sshPrivateKey === undefined)) {
    issues.push({
      path: key("sshPrivateKeyPath"),
      reason: "set exactly one of sshPrivateKeyPath and sshPrivateKey",
    });
  }
  const addresses = [raw.vip, raw.edgeAddress, raw.modelAddress].filter((a) => a !== undefined);
  if (new Set(addresses).size !== addresses.length) {
    issues.push({
      path: key("vip"),
      reason: "vip, edgeAddress and modelAddress must be three different addresses",
    });
  }
  return issues;
}

/** Every problem in the raw settings, each named by its full config key. */
export function validateStackConfig(raw: Record<string, unknown>): Issue[] {
  const parsed = stackSchema.safeParse(raw);
  const schemaIssues = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({
        path: key(i.path.join(".")),
        reason: i.code === "invalid_type" && i.input === undefined ? "is required" : i.message,
      }));
  return [...schemaIssues, ...crossKeyIssues(raw)];
}

/** Validates the raw settings (throwing once with every issue) and shapes them for the components. */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  assertNoIssues(`stack config (${CONFIG_NAMESPACE})`, validateStackConfig(raw));
  const c = stackSchema.parse(raw);
  const [orchHost, orchPort] = c.orchestrator.split(":");
  return {
    environment: c.environment,
    vip: c.vip,
    edge: { name: "okome-edge", address: c.edgeAddress, hostKey: c.edgeHostKey },
    model: { name: "okome-model", address: c.modelAddress, hostKey: c.modelHostKey },
    orchestrator: { host: orchHost, port: Number(orchPort) },
    ssh: {
      user: c.sshUser,
      privateKeyPath: c.sshPrivateKeyPath && expandHome(c.sshPrivateKeyPath),
      knownHostsFile: c.knownHostsFile && expandHome(c.knownHostsFile),
    },
  };
}
