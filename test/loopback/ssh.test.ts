import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pooledSession } from "../../providers/ssh/pool";
import { SshError, SshTarget, connect } from "../../providers/ssh/session";
import { knownHostKeys, parseHostKey } from "../../providers/ssh/hostKeys";
import { LoopbackSshd, useLoopbackSshd } from "./sshd";
import { newKeyPair } from "../support/keys";

describe("ssh layer against a loopback sshd", function () {
  this.timeout(60_000);
  let sshd: LoopbackSshd;
  const target = (over: Partial<SshTarget> = {}): SshTarget => ({
    name: "loopback",
    address: "127.0.0.1",
    port: sshd.port,
    user: "root",
    privateKey: fs.readFileSync(sshd.clientKeyPath),
    trusted: [parseHostKey(sshd.hostKey)!],
    trustSource: "test pin",
    ...over,
  });
  const ssh = useLoopbackSshd();
  const logLines = ssh.events;

  before(() => (sshd = ssh.sshd));

  it("runs a command with stdin and returns exit code and output", async () => {
    const s = await connect(target());
    const r = await s.exec("cat; echo err >&2; exit 3", { stdin: "hello" });
    s.close();
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, "hello", "err\n"]);
  });

  it("shares one connection per host between callers (the pool)", async () => {
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => pooledSession(target())));
    await Promise.all(sessions.map((s, i) => s.exec(`echo ${i}`)));
    assert.equal(new Set(sessions).size, 1);
    assert.equal(logLines("connect").length, 1);
    assert.equal(logLines("exec").length, 5);
  });

  it("reconnects when the pooled connection was closed", async () => {
    const a = await pooledSession(target());
    a.close();
    const b = await pooledSession(target());
    assert.notEqual(a, b);
    assert.equal((await b.exec("true")).code, 0);
  });

  it("refuses a host whose key does not match the pin, naming both fingerprints, without retrying", async () => {
    const other = execFileSync(
      "sh",
      ["-c", `ssh-keygen -q -t ed25519 -N '' -f ${sshd.dir}/other && cat ${sshd.dir}/other.pub`],
      {
        encoding: "utf8",
      },
    );
    const started = Date.now();
    await assert.rejects(
      connect(target({ trusted: [parseHostKey(other)!], trustSource: "connection.hostKey" })),
      (e: SshError) => {
        assert.equal(e.kind, "hostkey");
        assert.match(
          e.message,
          /^loopback \(root@127\.0\.0\.1:\d+\): host key mismatch: expected SHA256:\S+ \(ssh-ed25519\) from connection\.hostKey, got SHA256:\S+/,
        );
        const fps = e.message.match(/SHA256:[A-Za-z0-9+/]+/g)!;
        assert.notEqual(fps[0], fps[1]);
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000);
    assert.equal(logLines("retry").length, 0);
    assert.equal(logLines("attempt").length, 1, "a refused attempt is in the log");
    assert.equal(logLines("connect").length, 0);
  });

  it("finds the pin in a known_hosts file with a hashed [host]:port entry", () => {
    const kh = path.join(sshd.dir, "known_hosts");
    fs.writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", kh], { stdio: "ignore" });
    const text = fs.readFileSync(kh, "utf8");
    assert.match(text, /^\|1\|/);
    assert.equal(knownHostKeys(text, "127.0.0.1", sshd.port).keys.length, 1);
    assert.equal(knownHostKeys(text, "127.0.0.1", 22).keys.length, 0);
  });

  it("does not retry a refused key and says what to check", async () => {
    newKeyPair(`${sshd.dir}/stranger`);
    await assert.rejects(
      connect(target({ privateKey: fs.readFileSync(`${sshd.dir}/stranger`) })),
      (e: SshError) => {
        assert.equal(e.kind, "auth");
        assert.match(e.message, /deploy key was refused/);
        return true;
      },
    );
    assert.equal(logLines("retry").length, 0);
  });

  it("retries a refused connection with backoff, then fails naming the host", async () => {
    const started = Date.now();
    await assert.rejects(
      connect(target({ port: 1 }), { retries: 2, backoffMs: 100 }),
      (e: SshError) => {
        assert.equal(e.kind, "connect");
        assert.match(
          e.message,
          /^loopback \(root@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED.*\(after 3 attempts\)/,
        );
        return true;
      },
    );
    assert.equal(logLines("retry").length, 2);
    assert.equal(logLines("attempt").length, 3, "every attempt is in the log, none connected");
    assert.equal(logLines("connect").length, 0);
    assert.ok(Date.now() - started >= 300, "100 ms + 200 ms of backoff");
  });

  it("times out a hung command with a clear error", async () => {
    const s = await connect(target());
    await assert.rejects(
      s.exec("sleep 30", { timeoutMs: 500, label: "probe" }),
      /loopback .*: probe timed out after 0\.5 s/,
    );
    s.close();
  });

  it("a provider process with pooled sessions exits promptly on SIGINT (how the engine stops plugins)", async () => {
    const script = `
      const { pooledSession } = require(${JSON.stringify(path.resolve(__dirname, "../../providers/ssh/pool"))});
      const fs = require("node:fs");
      pooledSession({ name: "child", address: "127.0.0.1", port: ${sshd.port}, user: "root",
        privateKey: fs.readFileSync(${JSON.stringify(sshd.clientKeyPath)}), trusted: [], trustSource: "tofu" })
        .then(() => console.log("ready"));`;
    const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) =>
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()),
    );
    const started = Date.now();
    const code = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    child.kill("SIGINT");
    assert.equal(await code, 130);
    assert.ok(Date.now() - started < 2000);
  });
});
