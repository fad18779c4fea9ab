/**
 * The lab tool end to end, for each driver: `lab up` gives two real Debian hosts with systemd
 * and the cache packages, reachable over SSH with the pinned host keys, and the mock
 * orchestrator on the bridge; `lab down` leaves nothing behind. Needs root (network
 * namespaces, mounts); it fails, never skips, when it cannot run.
 *
 * Traffic goes only to the lab bridge: every probe first checks that the address routes over
 * okbr0, and nothing is probed after `lab down`.
 */
import { strict as assert } from "node:assert";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");
const okomeHome = process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome");
const labHome = path.join(okomeHome, "lab");
const runDir = path.join(labHome, "run");
const knownHosts = path.join(labHome, "known_hosts");
const privateKey = path.join(labHome, "keys", "id_ed25519");
const orchestrator = "10.86.0.25:8000";
const hosts = { "okome-model": "10.86.0.19", "okome-edge": "10.86.0.20" } as const;
type HostName = keyof typeof hosts;

interface HostsJson {
  driver: string;
  hosts: Record<string, { address: string; user: string; hostKey: string }>;
  privateKeyPath: string;
  orchestrator: string;
}

function run(cmd: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: repo, encoding: "utf8", timeout: timeoutMs });
}

function lab(args: string[], timeoutMs = 15 * 60_000): SpawnSyncReturns<string> {
  const res = run("bash", [path.join(repo, "lab/lab.sh"), ...args], timeoutMs);
  if (res.error) throw res.error;
  return res;
}

function output(res: SpawnSyncReturns<string>): string {
  return `exit ${res.status}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

function assertRoutesViaBridge(address: string): void {
  const route = run("ip", ["-o", "route", "get", address], 5000).stdout;
  assert.match(route, / dev okbr0 /, `${address} must route over okbr0, got: ${route}`);
}

function ssh(address: string, command: string, hostsFile = knownHosts): SpawnSyncReturns<string> {
  assertRoutesViaBridge(address);
  return run(
    "ssh",
    [
      "-i",
      privateKey,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${hostsFile}`,
      "-o",
      "ConnectTimeout=10",
      `okome@${address}`,
      command,
    ],
    120_000,
  );
}

/** Recorded pid files as [file, pid, start time]; a pid counts only with its start time. */
function recordedPids(): Array<[string, number, string]> {
  const found: Array<[string, number, string]> = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".pid")) {
        const [pid, start] = fs.readFileSync(full, "utf8").trim().split(/\s+/);
        found.push([full, Number(pid), start]);
      }
    }
  };
  walk(runDir);
  return found;
}

/** The process's start time, or undefined when it is gone (zombies count as gone). */
function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[0] === "Z" ? undefined : fields[19];
}

function leftovers(pidsBeforeDown: Array<[string, number, string]>): string[] {
  const found: string[] = [];
  for (const ns of ["okome-model", "okome-edge", "okome-orch"]) {
    if (fs.existsSync(`/run/netns/${ns}`)) found.push(`netns ${ns}`);
  }
  const links = run("ip", ["-o", "link", "show"], 5000).stdout;
  for (const line of links.split("\n")) {
    const name = line.split(":")[1]?.trim().split("@")[0];
    if (name && /^(okbr0|okv-|tap)/.test(name)) found.push(`link ${name}`);
  }
  for (const [file, pid, start] of pidsBeforeDown) {
    if (processStart(pid) === start) found.push(`process ${pid} (${file})`);
  }
  for (const line of fs.readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const mountPoint = line.split(" ")[1];
    if (mountPoint?.startsWith(`${labHome}/`)) found.push(`mount ${mountPoint}`);
  }
  return found;
}

function checkHosts(driver: string): void {
  const json = JSON.parse(fs.readFileSync(path.join(labHome, "hosts.json"), "utf8")) as HostsJson;
  assert.equal(json.driver, driver);
  assert.equal(json.privateKeyPath, privateKey);
  assert.equal(json.orchestrator, orchestrator);
  const known = fs.readFileSync(knownHosts, "utf8");
  for (const [name, address] of Object.entries(hosts) as Array<[HostName, string]>) {
    const entry = json.hosts[name];
    assert.equal(entry.address, address);
    assert.equal(entry.user, "okome");
    assert.match(entry.hostKey, /^ssh-ed25519 AAAA\S+$/);
    assert.ok(known.includes(`${address} ${entry.hostKey}\n`), `known_hosts pins ${name}`);

    const res = ssh(
      address,
      [
        "hostname",
        "systemctl is-system-running || true",
        "dpkg-query -W -f='${Package} ${Status}\\n' nginx redis-server keepalived",
        "sudo -n sshd -T | grep -i '^permitrootlogin'",
        `curl -fsS --max-time 10 http://${orchestrator}/version`,
      ].join("; "),
    );
    assert.equal(res.status, 0, `ssh to ${name} ${address}: ${output(res)}`);
    const lines = res.stdout.trim().split("\n");
    assert.equal(lines[0], name, "host name");
    assert.match(lines[1], /^(running|degraded)$/, `systemd state on ${name}`);
    for (const pkg of ["nginx", "redis-server", "keepalived"]) {
      assert.ok(lines.includes(`${pkg} install ok installed`), `${pkg} installed on ${name}`);
    }
    assert.ok(lines.includes("permitrootlogin no"), `root login off on ${name}`);
    assert.match(res.stdout, /"version"/, `${name} reaches the mock orchestrator over the bridge`);
  }

  // Pinning is enforced: the other host's key for this address must be refused.
  const wrong = path.join(os.tmpdir(), `okome-wrong-known-hosts-${process.pid}`);
  fs.writeFileSync(wrong, `${hosts["okome-edge"]} ${json.hosts["okome-model"].hostKey}\n`);
  try {
    const res = ssh(hosts["okome-edge"], "true", wrong);
    assert.notEqual(res.status, 0, "ssh must refuse a host key that is not the pinned one");
    assert.match(res.stderr, /host key|HOST IDENTIFICATION/i);
  } finally {
    fs.rmSync(wrong, { force: true });
  }
}

/** GET over a fresh connection: a pooled one may belong to a mock that a test killed. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
  });
}

async function checkMock(): Promise<void> {
  const [address] = orchestrator.split(":");
  assertRoutesViaBridge(address);
  const res = await httpGet(`http://${orchestrator}/health`);
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.body) as { status: string }).status, "ok");
}

function takeDown(): void {
  const before = recordedPids();
  const res = lab(["down"], 5 * 60_000);
  assert.equal(res.status, 0, `lab down: ${output(res)}`);
  assert.deepEqual(leftovers(before), [], "nothing of the lab is left after down");
  for (const file of ["hosts.json", "known_hosts"]) {
    assert.ok(!fs.existsSync(path.join(labHome, file)), `${file} is removed: the lab is down`);
  }
}

for (const driver of ["nspawn", "qemu"] as const) {
  describe(`lab lifecycle (${driver})`, function () {
    this.timeout(20 * 60_000);

    before(function () {
      assert.equal(process.getuid?.(), 0, "the lab tests need root (netns, mounts, /dev/net/tun)");
      const res = lab(["down"], 5 * 60_000);
      assert.equal(res.status, 0, `clean start: ${output(res)}`);
    });

    after(function () {
      // Leave no lab behind even when a test failed half way.
      lab(["down"], 5 * 60_000);
    });

    // Deterministic only for a VM (a container may answer its first probe); the message
    // and the code path are the same for both drivers.
    if (driver === "qemu") {
      it("fails naming the host and its console log when a host does not answer in time", function () {
        const res = spawnSync("bash", [path.join(repo, "lab/lab.sh"), "up", "--driver", driver], {
          cwd: repo,
          encoding: "utf8",
          timeout: 15 * 60_000,
          env: { ...process.env, LAB_UP_TIMEOUT: "0" },
        });
        assert.notEqual(res.status, 0, `up with no time to boot must fail: ${output(res)}`);
        for (const host of Object.keys(hosts)) {
          const message = `${host} \\(.*\\): sshd did not answer .*see .*/run/${host}\\.console\\.log`;
          assert.match(res.stderr, new RegExp(message));
        }
        assert.ok(
          !fs.existsSync(path.join(labHome, "hosts.json")),
          "no hosts.json for a failed up",
        );
      });
    }

    it("comes up with both hosts answering SSH and the mock answering /health", function () {
      const started = Date.now();
      const res = lab(["up", "--driver", driver]);
      assert.equal(res.status, 0, `lab up: ${output(res)}`);
      console.log(`      lab up (${driver}): ${((Date.now() - started) / 1000).toFixed(1)}s`);
      const status = lab(["status"], 60_000);
      assert.equal(status.status, 0, `lab status: ${output(status)}`);
      assert.match(status.stdout, new RegExp(`driver ${driver}`));
    });

    it("a second up leaves the healthy lab as it is and returns quickly", function () {
      const started = Date.now();
      const res = lab(["up", "--driver", driver]);
      assert.equal(res.status, 0, output(res));
      assert.match(res.stderr, /already up/);
      assert.ok(Date.now() - started < 30_000, "second up is quick");
    });

    it("hosts run systemd with nginx, redis-server and keepalived, pinned host keys", function () {
      checkHosts(driver);
    });

    it("the mock orchestrator answers through the bridge", async function () {
      await checkMock();
    });

    if (driver === "nspawn") {
      it("up recovers a lab whose processes were killed", async function () {
        const killed = recordedPids().filter(([file]) => /supervisor|nspawn|orch/.test(file));
        assert.ok(killed.length >= 3, `recorded pids: ${JSON.stringify(killed)}`);
        for (const [, pid] of killed) process.kill(pid, "SIGKILL");
        const res = lab(["up", "--driver", driver]);
        assert.equal(res.status, 0, output(res));
        assert.match(res.stderr, /found a stale lab/);
        checkHosts(driver);
        await checkMock();
      });

      it("heal starts again a unit that exited 219/CGROUP and leaves other failures alone", function () {
        const model = hosts["okome-model"];
        const planted = ssh(
          model,
          [
            "sudo systemd-run --quiet --unit=okome-heal-219 -p Type=oneshot -p RemainAfterExit=yes" +
              " sh -c 'test -e /run/okome-healed || { touch /run/okome-healed; exit 219; }' || true",
            "sudo systemd-run --quiet --unit=okome-heal-3 -p Type=oneshot sh -c 'exit 3' || true",
            "systemctl is-failed okome-heal-219 okome-heal-3",
          ].join("; "),
        );
        assert.equal(
          planted.stdout.trim(),
          "failed\nfailed",
          `planted failures: ${output(planted)}`,
        );
        const heal = run(
          "bash",
          [path.join(repo, "lab/driver-nspawn.sh"), "heal", "okome-model"],
          60_000,
        );
        assert.equal(heal.status, 0, output(heal));
        assert.match(heal.stderr, /okome-model: okome-heal-219\.service failed with 219\/CGROUP/);
        assert.doesNotMatch(heal.stderr, /okome-heal-3/);
        const after = ssh(model, "systemctl is-active okome-heal-219 okome-heal-3 || true");
        assert.equal(after.stdout.trim(), "active\nfailed", output(after));
      });
    }

    it("down leaves no namespace, bridge, veth, tap, process or mount", function () {
      takeDown();
    });
  });
}
