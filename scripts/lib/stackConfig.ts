/**
 * A stack's config as the `pulumi` CLI reports it (`pulumi config --json`), for the tools that
 * run outside the engine (hostkeys, doctor) and validate it with the program's own rules.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CONFIG_NAMESPACE } from "../../components/config";
import { ConfigReader } from "../../components/stack";

/** One value of `pulumi config --json`: a secret has no value unless shown. */
interface ConfigEntry {
  readonly value?: string;
  readonly secret: boolean;
}

/** Exit code and output of one `pulumi` command run in the project directory. */
export interface PulumiResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `pulumi <args> --non-interactive` with the caller's environment, in the caller's
 * directory: pulumi finds Pulumi.yaml from there (npm run starts in the package's directory).
 */
export async function pulumi(args: readonly string[]): Promise<PulumiResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)("pulumi", [...args, "--non-interactive"], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof err.code === "number" ? err.code : 127,
      stdout: err.stdout ?? "",
      stderr: err.stderr || err.message,
    };
  }
}

/**
 * Reads `stack`'s config (secrets in clear only with `showSecrets`, which needs the passphrase)
 * as a ConfigReader; a secret not shown reads as a placeholder, since validation needs only its presence.
 */
export async function readStackConfig(
  stack: string,
  showSecrets = false,
): Promise<{ read: ConfigReader } | { error: string }> {
  const r = await pulumi([
    "config",
    "--json",
    "--stack",
    stack,
    ...(showSecrets ? ["--show-secrets"] : []),
  ]);
  if (r.code !== 0) return { error: (r.stderr || r.stdout).trim() };
  const entries = JSON.parse(r.stdout) as Record<string, ConfigEntry>;
  return {
    read: (name) => {
      const entry = entries[`${CONFIG_NAMESPACE}:${name}`];
      if (!entry) return undefined;
      return entry.value ?? (entry.secret ? "(secret)" : undefined);
    },
  };
}
