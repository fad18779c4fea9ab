import { readFileSync } from "node:fs";
import { z } from "zod";
import { Issue, assertNoIssues } from "../common/issues";
import { expandHome } from "../common/paths";
import { CONFIG_SET_DEFAULTS } from "../providers";
import { formatHostKey, parseHostKey, pinnedHostKeys } from "../providers/ssh/hostKeys";
import { CONFIG_NAMESPACE, readStackKeys, stackKey, stackValue } from "./kit/stackKeys";

export { CONFIG_NAMESPACE };

const ipv4 = z.ipv4({ message: "must be an IPv4 address like 10.86.0.20" });

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "must be host:port, e.g. 10.86.0.25:8000");

/**
 * An OpenSSH public key line (a `.pub` file's, comment allowed), parsed by the same function the
 * SSH layer pins with, so config cannot accept a line the provider refuses; kept as `type base64`.
 */
const publicKeyLine = z.string().transform((line, ctx) => {
  const parsed = parseHostKey(line);
  if (parsed) return formatHostKey(parsed);
  ctx.addIssue({
    code: "custom",
    message: "must be an OpenSSH public key line like `ssh-ed25519 AAAA... [comment]`",
  });
  return z.NEVER;
});

/** The shared stack keys exactly as Pulumi.<stack>.yaml spells them (see Pulumi.yaml for descriptions). */
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
  /**
   * Pinned host key lines (`npm run hostkeys` prints them). Prod needs each host pinned here or in
   * knownHostsFile; the lab may leave both out, and then the first key seen is pinned in state.
   */
  edgeHostKey: publicKeyLine.optional(),
  modelHostKey: publicKeyLine.optional(),
  /** Public half of the deploy key, as the Pis' authorized_keys hold it; `npm run doctor` checks the private key against it. */
  sshPublicKey: publicKeyLine.optional(),
  /** Run the validation suite at the end of `pulumi up` (the deployment gate); see STACK_DEFAULTS. */
  validateAfterUp: stackValue.boolean().optional(),
});

/** The shared keys' defaults. */
export const STACK_DEFAULTS = {
  /**
   * On for every stack, prod included: the suite only reads prod (its checks that write run on the
   * lab alone), and an `up` that leaves the tier failing its checks should not report success.
   * Off where the deploying machine cannot reach the nodes' service ports, only their SSH.
   */
  validateAfterUp: true,
} as const;

/** Every key of the stack schema, as Pulumi.<stack>.yaml names it without the namespace. */
export const STACK_CONFIG_KEYS = stackSchema.keyof().options;

/** Keys that hold a secret: the program reads them with getSecret, and only their presence is validated. */
export const SECRET_CONFIG_KEYS: readonly string[] = ["sshPrivateKey"];

/** A managed Pi as the providers reach it. */
export interface HostSpec {
  /** Host name used in messages, resource names and the X-OKOME-Node header. */
  readonly name: string;
  readonly address: string;
  /** Pinned OpenSSH host key line; when absent the known_hosts file or state pins it. */
  readonly hostKey?: string;
}

/** The shared stack keys, validated and typed for the components. */
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
  /** Whether `pulumi up` ends with the validation suite (the deployment gate). */
  readonly validateAfterUp: boolean;
}

/** The full stack key (`okome-cache:edgeHostKey`) of a key. */
export const key = (name: string) => stackKey(name);

/** The managed hosts by the keys that address and pin them. */
export const PINNED_HOSTS = [
  { name: "okome-edge", role: "edge", addressKey: "edgeAddress", hostKeyKey: "edgeHostKey" },
  { name: "okome-model", role: "model", addressKey: "modelAddress", hostKeyKey: "modelHostKey" },
] as const;
const [EDGE, MODEL] = PINNED_HOSTS;

/** What the validation knows of the stack beyond its keys. */
export interface ValidationContext {
  /** The stack's name, for the fix commands in messages; `<stack>` when unknown. */
  readonly stack?: string;
}

/**
 * Prod connects only to a host key it was told: each host needs its HostKey key or an entry in
 * knownHostsFile (read here, so a missing file or entry fails before any resource is registered).
 */
function hostKeyPinIssues(raw: Record<string, unknown>, context: ValidationContext): Issue[] {
  if (raw.environment !== "prod") return [];
  const issues: Issue[] = [];
  let knownHosts: string | undefined;
  if (typeof raw.knownHostsFile === "string") {
    const file = expandHome(raw.knownHostsFile);
    try {
      knownHosts = readFileSync(file, "utf8");
    } catch (error) {
      issues.push({
        path: key("knownHostsFile"),
        reason: `cannot read ${file} (${(error as Error).message}); prod takes host keys from it`,
      });
    }
  }
  for (const host of PINNED_HOSTS) {
    const address = raw[host.addressKey];
    if (raw[host.hostKeyKey] !== undefined) continue;
    if (
      knownHosts !== undefined &&
      typeof address === "string" &&
      pinnedHostKeys(knownHosts, address, CONFIG_SET_DEFAULTS.port).length > 0
    )
      continue;
    issues.push({
      path: key(host.hostKeyKey),
      reason:
        `is required for prod: the ${host.role} Pi's host key is pinned neither here nor in knownHostsFile. ` +
        `Run \`npm run hostkeys -- --stack ${context.stack ?? "<stack>"}\`, compare the fingerprint with the Pi's console, ` +
        `and run the \`pulumi config set\` command it prints`,
    });
  }
  return issues;
}

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

/** Every problem in the raw shared keys, each named by its full stack key. */
export function validateStackConfig(
  raw: Record<string, unknown>,
  context: ValidationContext = {},
): Issue[] {
  return [
    ...readStackKeys(stackSchema, raw).issues,
    ...crossKeyIssues(raw),
    ...hostKeyPinIssues(raw, context),
  ];
}

/** Validates the raw shared keys (throwing once with every issue) and shapes them for the components. */
export function parseStackConfig(
  raw: Record<string, unknown>,
  context: ValidationContext = {},
): StackConfig {
  assertNoIssues(`stack config (${CONFIG_NAMESPACE})`, validateStackConfig(raw, context));
  const values = stackSchema.parse(raw);
  const [orchHost, orchPort] = values.orchestrator.split(":");
  return {
    environment: values.environment,
    vip: values.vip,
    edge: { name: EDGE.name, address: values.edgeAddress, hostKey: values.edgeHostKey },
    model: { name: MODEL.name, address: values.modelAddress, hostKey: values.modelHostKey },
    orchestrator: { host: orchHost, port: Number(orchPort) },
    ssh: {
      user: values.sshUser,
      privateKeyPath: values.sshPrivateKeyPath && expandHome(values.sshPrivateKeyPath),
      knownHostsFile: values.knownHostsFile && expandHome(values.knownHostsFile),
    },
    validateAfterUp: values.validateAfterUp ?? STACK_DEFAULTS.validateAfterUp,
  };
}
