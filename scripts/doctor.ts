/**
 * Checks everything about a stack that can be checked without contacting a host, and prints the
 * command that fixes each problem:
 *
 *   npm run doctor -- --stack prod|lab
 *
 * The toolchain, the state backend, that the stack exists and the passphrase opens it, the
 * config (the program's own validation: every problem at once, by key), the deploy key, and the
 * host-key pins. Exits 1 if anything is wrong. Opens no network connection.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Issue } from "../common/issues";
import { expandHome } from "../common/paths";
import { CONFIG_NAMESPACE, PINNED_HOSTS, key } from "../components/config";
import { ConfigReader, readStack } from "../components/stack";
import { CONFIG_SET_DEFAULTS } from "../providers";
import { deployPublicKey } from "../providers/ssh/deployKey";
import { fingerprint, parseHostKey, pinnedHostKeys, sameKey } from "../providers/ssh/hostKeys";
import { pulumi, readStackConfig } from "./lib/stackConfig";
import { runMain } from "./lib/runMain";

/** Node major version the program needs (package.json engines). */
const NODE_MAJOR = 22;

/** One line of the report: a check that passed, failed (with its fix), or could not run. */
interface Finding {
  readonly status: "ok" | "FAIL" | "skip" | "note";
  readonly what: string;
  readonly fix?: string;
}

const ok = (what: string): Finding => ({ status: "ok", what });
const fail = (what: string, fix: string): Finding => ({ status: "FAIL", what, fix });
const skip = (what: string): Finding => ({ status: "skip", what: `not checked: ${what}` });
const note = (what: string, fix?: string): Finding => ({ status: "note", what, fix });

/** A home-relative path as a user types it, for fix commands. */
const tilde = (p: string) =>
  p.startsWith(`${os.homedir()}/`) ? `~/${path.relative(os.homedir(), p)}` : p;

/** Where the prod passphrase lives unless the operator says otherwise (README, Production). */
const PROD_PASSPHRASE_FILE = "~/.okome/prod.passphrase";

function onPath(command: string): boolean {
  return (process.env.PATH ?? "")
    .split(":")
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, command)));
}

/** Node, the pulumi CLI and the language host it runs the program with. */
function checkToolchain(): Finding[] {
  const major = Number(process.versions.node.split(".")[0]);
  const findings = [
    major >= NODE_MAJOR
      ? ok(`node ${process.versions.node}`)
      : fail(
          `node ${process.versions.node} is older than ${NODE_MAJOR}`,
          "bash scripts/bootstrap-node.sh && source scripts/lib/env.sh",
        ),
  ];
  for (const tool of ["pulumi", "pulumi-language-nodejs"]) {
    findings.push(
      onPath(tool)
        ? ok(`${tool} on PATH`)
        : fail(
            `${tool} is not on PATH`,
            "bash scripts/bootstrap-pulumi.sh && source scripts/lib/env.sh",
          ),
    );
  }
  return findings;
}

/** The file backend of scripts/lib/env.sh: set, a directory, writable. */
function checkBackend(): Finding {
  const url = process.env.PULUMI_BACKEND_URL;
  if (url === undefined)
    return fail(
      "PULUMI_BACKEND_URL is not set (pulumi would pick its own)",
      "source scripts/lib/env.sh",
    );
  if (!url.startsWith("file://"))
    return fail(
      `the state backend ${url} is not a file backend`,
      "unset PULUMI_BACKEND_URL && source scripts/lib/env.sh",
    );
  const dir = expandHome(url.slice("file://".length));
  const probe = path.join(dir, `.okome-doctor-${process.pid}`);
  try {
    fs.writeFileSync(probe, "");
    fs.rmSync(probe);
    return ok(`state backend ${url} is writable`);
  } catch (e) {
    return fail(
      `the state backend ${url} is not writable (${(e as Error).message})`,
      `mkdir -p ${tilde(dir)}`,
    );
  }
}

async function checkStackExists(stack: string): Promise<Finding> {
  const r = await pulumi(["stack", "ls", "--json"]);
  if (r.code !== 0)
    return fail(`pulumi stack ls failed: ${r.stderr.trim()}`, "source scripts/lib/env.sh");
  const names = (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name);
  return names.includes(stack)
    ? ok(`stack ${stack} exists`)
    : fail(
        `stack ${stack} does not exist in ${process.env.PULUMI_BACKEND_URL}`,
        `pulumi stack init ${stack} --secrets-provider passphrase`,
      );
}

/** The passphrase as the operator supplies it: an env var or a 0600 file. */
function passphraseSource(stack: string): Finding {
  const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined)
    return ok("passphrase from PULUMI_CONFIG_PASSPHRASE");
  const supply =
    stack === "lab"
      ? "export PULUMI_CONFIG_PASSPHRASE=okome-lab"
      : `export PULUMI_CONFIG_PASSPHRASE_FILE=${PROD_PASSPHRASE_FILE}`;
  if (file === undefined)
    return fail(
      "no passphrase: neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set",
      supply,
    );
  if (!fs.existsSync(file)) return fail(`the passphrase file ${file} does not exist`, supply);
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    return fail(
      `the passphrase file ${file} is mode ${mode.toString(8)}: others may read it`,
      `chmod 600 ${file}`,
    );
  return ok(`passphrase from ${file}`);
}

/**
 * Whether the passphrase opens the stack's secrets: pulumi encrypts a probe secret into a copy
 * of the stack's settings file, which it does only after checking the passphrase against the
 * stack's salt. The real settings file is never written.
 */
async function checkPassphraseOpens(stack: string): Promise<Finding> {
  const settings = path.join(process.cwd(), `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(settings))
    return fail(
      `${settings} is missing: the stack's salt and config are in it`,
      `git checkout Pulumi.${stack}.yaml`,
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-doctor-"));
  try {
    const copy = path.join(dir, "settings.yaml");
    fs.copyFileSync(settings, copy);
    const r = await pulumi([
      "config",
      "set",
      "--secret",
      "--config-file",
      copy,
      "--stack",
      stack,
      `${CONFIG_NAMESPACE}:doctorProbe`,
      "probe",
    ]);
    if (r.code === 0) return ok(`the passphrase opens stack ${stack}`);
    const why = (r.stderr || r.stdout).trim();
    return fail(
      `the passphrase does not open stack ${stack} (${why})`,
      /incorrect passphrase/.test(why)
        ? `put the passphrase stack ${stack} was created with in $PULUMI_CONFIG_PASSPHRASE_FILE (lost: see README, Recovery)`
        : `pulumi stack init ${stack} --secrets-provider passphrase`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The fix for one config issue, by the key it names. */
function configFix(issue: Issue, stack: string): string {
  const name = issue.path.slice(`${CONFIG_NAMESPACE}:`.length).replace(/\[.*$/, "");
  if (PINNED_HOSTS.some((h) => h.hostKeyKey === name))
    return `npm run hostkeys -- --stack ${stack}`;
  if (name === "sshPrivateKeyPath")
    return `pulumi config set -s ${stack} ${key("sshPrivateKeyPath")} ~/.ssh/okome_deploy && pulumi config rm -s ${stack} ${key("sshPrivateKey")}`;
  if (name === "knownHostsFile") return `pulumi config rm -s ${stack} ${key("knownHostsFile")}`;
  return `pulumi config set -s ${stack} ${key(name)} '<value>'   # ${issue.reason}`;
}

/** The deploy key file: present, 0600, usable, and the half the Pis know if sshPublicKey says. */
function checkDeployKey(read: ConfigReader, stack: string): Finding[] {
  const keyPath = read("sshPrivateKeyPath");
  if (keyPath === undefined) return [skip("deploy key file (the key is inline in sshPrivateKey)")];
  const file = expandHome(keyPath);
  const create = `ssh-keygen -t ed25519 -N '' -C okome-deploy -f ${keyPath}   # then give the Pis its .pub (README, Production)`;
  if (!fs.existsSync(file)) return [fail(`the deploy key ${keyPath} does not exist`, create)];
  const mode = fs.statSync(file).mode & 0o777;
  const findings: Finding[] = [];
  if ((mode & 0o077) !== 0)
    findings.push(
      fail(
        `the deploy key ${keyPath} is mode ${mode.toString(8)}, not 600`,
        `chmod 600 ${keyPath}`,
      ),
    );
  const pub = deployPublicKey(fs.readFileSync(file));
  if (pub instanceof Error)
    return [
      ...findings,
      fail(
        `the deploy key ${keyPath} cannot be used: ${pub.message}`,
        `ssh-keygen -p -N '' -f ${keyPath}   # the providers offer no key passphrase`,
      ),
    ];
  const configured = read("sshPublicKey");
  const expected = configured === undefined ? undefined : parseHostKey(configured);
  const recordIt = `pulumi config set -s ${stack} ${key("sshPublicKey")} "$(ssh-keygen -y -f ${keyPath})"`;
  if (expected === undefined)
    findings.push(
      note(
        `deploy key ${keyPath} (${fingerprint(pub)}); ${key("sshPublicKey")} is not set, so it is not compared`,
        recordIt,
      ),
    );
  else if (!sameKey(pub, expected))
    findings.push(
      fail(
        `the deploy key ${keyPath} is ${fingerprint(pub)}, but ${key("sshPublicKey")} is ${fingerprint(expected)}`,
        `point ${key("sshPrivateKeyPath")} at the key the Pis know, or after giving them this one: ${recordIt}`,
      ),
    );
  else
    findings.push(ok(`deploy key ${keyPath} matches ${key("sshPublicKey")} (${fingerprint(pub)})`));
  if (findings.every((f) => f.status !== "FAIL") && (mode & 0o077) === 0)
    findings.unshift(ok(`deploy key ${keyPath} exists, mode 600`));
  return findings;
}

/** Where each host's key is pinned; prod's unpinned hosts are config issues, reported there. */
function checkPins(read: ConfigReader, environment: string | undefined): Finding[] {
  return PINNED_HOSTS.map((host) => {
    const configured = read(host.hostKeyKey);
    const parsed = configured === undefined ? undefined : parseHostKey(configured);
    if (parsed)
      return ok(`${host.name} pinned by ${key(host.hostKeyKey)} (${fingerprint(parsed)})`);
    const knownHostsFile = read("knownHostsFile");
    const address = read(host.addressKey);
    if (knownHostsFile !== undefined && address !== undefined) {
      const file = expandHome(knownHostsFile);
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      const pins = pinnedHostKeys(text, address, CONFIG_SET_DEFAULTS.port);
      if (pins.length > 0)
        return ok(
          `${host.name} pinned by ${knownHostsFile} (${pins.map((k) => fingerprint(k)).join(", ")})`,
        );
      if (environment !== "prod")
        return fail(
          `${host.name}: ${knownHostsFile} has no key for ${address}, and the providers read it`,
          environment === "lab" ? "npm run lab:up" : `pulumi config rm ${key("knownHostsFile")}`,
        );
    }
    return environment === "prod"
      ? skip(`${host.name} pin (see the config problems above)`)
      : note(
          `${host.name} is not pinned: the first key seen is kept in state (allowed outside prod)`,
        );
  });
}

async function doctor(stack: string): Promise<Finding[]> {
  const findings = [...checkToolchain(), checkBackend()];
  if (findings.some((f) => f.status === "FAIL"))
    return [
      ...findings,
      skip("the stack, its passphrase, config, deploy key and pins need the toolchain and backend"),
    ];
  const exists = await checkStackExists(stack);
  findings.push(exists);
  if (exists.status === "FAIL")
    return [...findings, skip("passphrase, config, deploy key and pins need the stack")];
  const source = passphraseSource(stack);
  findings.push(source);
  const opens =
    source.status === "ok"
      ? await checkPassphraseOpens(stack)
      : skip("whether the passphrase opens the stack");
  findings.push(opens);
  const config = await readStackConfig(stack, opens.status === "ok");
  if ("error" in config)
    return [
      ...findings,
      fail(`cannot read the config: ${config.error}`, "source scripts/lib/env.sh"),
    ];
  const { issues } = readStack(config.read, { stack });
  findings.push(
    ...(issues.length === 0
      ? [ok("config is valid (the program's own validation)")]
      : issues.map((i) => fail(`config ${i.path}: ${i.reason}`, configFix(i, stack)))),
  );
  findings.push(...checkDeployKey(config.read, stack));
  findings.push(...checkPins(config.read, config.read("environment")));
  return findings;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string", short: "s" } } });
  if (values.stack === undefined) {
    console.error("usage: npm run doctor -- --stack <stack>");
    return 2;
  }
  console.log(
    `okome doctor: stack ${values.stack} (checks this machine only; no host is contacted)`,
  );
  const findings = await doctor(values.stack);
  for (const f of findings) {
    console.log(`${f.status.padEnd(4)}  ${f.what}`);
    if (f.fix) console.log(`      fix: ${f.fix}`);
  }
  const failed = findings.filter((f) => f.status === "FAIL").length;
  console.log(
    failed === 0
      ? "all checks passed"
      : `${failed} problem${failed === 1 ? "" : "s"}; fix them from the top and run npm run doctor -- --stack ${values.stack} again`,
  );
  return failed === 0 ? 0 : 1;
}

runMain(main);
