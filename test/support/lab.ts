/**
 * The lab as `npm run lab:up` left it (~/.okome/lab/hosts.json), for tests and benches that
 * need its hosts: checked before use, reached over the lab bridge only.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LAB_BRIDGE } from "./netns";

export const LAB_HOME = path.join(
  process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"),
  "lab",
);

export type LabHostName = "okome-model" | "okome-edge";

/** A lab host as hosts.json describes it, plus how to reach it. */
export interface LabHost {
  readonly name: LabHostName;
  readonly address: string;
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsFile: string;
  /** The lab's driver: qemu (full VM, TCG without KVM) or nspawn; timings differ tenfold. */
  readonly driver: string;
}

/**
 * The lab host `name`, after checking that it routes via the lab bridge and answers on port 22.
 * Throws (never skips) when the lab is not up: a lab test that passes without a lab proves nothing.
 */
export async function requireLabHost(name: LabHostName): Promise<LabHost> {
  const hostsFile = path.join(LAB_HOME, "hosts.json");
  if (!fs.existsSync(hostsFile))
    throw new Error(`the lab is not up (${hostsFile} is missing): run npm run lab:up`);
  const hosts = JSON.parse(fs.readFileSync(hostsFile, "utf8"));
  const h = hosts.hosts?.[name];
  if (!h) throw new Error(`the lab has no host ${name} (${hostsFile})`);
  // Lab traffic goes over the lab bridge only; a missing bridge must not send it elsewhere.
  const route = execFileSync("ip", ["-o", "route", "get", h.address], { encoding: "utf8" });
  if (!new RegExp(` dev ${LAB_BRIDGE} `).test(route))
    throw new Error(
      `the lab is not up: ${h.address} does not route via ${LAB_BRIDGE} (${route.trim()})`,
    );
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: h.address, port: 22, timeout: 5000 }, () => {
      s.end();
      resolve();
    });
    s.on("timeout", () => {
      s.destroy();
      reject(new Error(`the lab is not up: ${h.address}:22 did not answer in 5 s`));
    });
    s.on("error", (e) => reject(new Error(`the lab is not up: ${h.address}:22: ${e.message}`)));
  });
  return {
    name,
    address: h.address,
    user: h.user,
    privateKeyPath: hosts.privateKeyPath,
    knownHostsFile: path.join(LAB_HOME, "known_hosts"),
    driver: hosts.driver,
  };
}

/** The system ssh client's argv for `command` on a lab host. */
function sshArgs(host: LabHost, command: string): string[] {
  return [
    "-o", "BatchMode=yes",
    "-o", `UserKnownHostsFile=${host.knownHostsFile}`,
    "-o", "StrictHostKeyChecking=yes",
    "-o", "ConnectTimeout=10",
    "-i", host.privateKeyPath,
    `${host.user}@${host.address}`,
    command,
  ]; // prettier-ignore
}

/** Runs a command on a lab host with the system ssh client (independent of the providers' SSH code). */
export function onHost(host: LabHost, command: string): string {
  return execFileSync("ssh", sshArgs(host, command), { encoding: "utf8", timeout: 60_000 });
}

/**
 * A command's stdout and stderr together and its exit status, a failing one included (a stopped
 * unit makes `systemctl is-active` exit 3), without blocking the event loop; up to `timeoutMs`.
 */
export function onHostOutput(
  host: LabHost,
  command: string,
  timeoutMs = 30_000,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) =>
    execFile(
      "ssh",
      sshArgs(host, command),
      { encoding: "utf8", timeout: timeoutMs },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 255) : 0, output: stdout + stderr }),
    ),
  );
}

/** {@link onHost} without blocking the event loop (timers and probes run meanwhile), up to 5 min. */
export async function onHostAsync(host: LabHost, command: string): Promise<string> {
  const { stdout } = await promisify(execFile)("ssh", sshArgs(host, command), {
    encoding: "utf8",
    timeout: 300_000,
  });
  return stdout;
}
