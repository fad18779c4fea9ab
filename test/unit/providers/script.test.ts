import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileOp } from "../../../providers/configSet/plan";
import {
  NEW_PREFIX,
  TransactionInput,
  TxnReport,
  buildBundle,
  hostScript,
  parseReadOutput,
  parseTxnOutput,
} from "../../../providers/configSet/script";

/** Root-owned and not writable by others all the way up, as a host's /etc is. */
const SAFE_ROOT = "/var/lib/okome-unit";

/**
 * The host scripts (providers/configSet/host/*.sh), run here as root with `sh -c` the way the
 * provider runs them over SSH: begin.sh starts txn.sh detached, wait.sh follows it. No SSH,
 * no network: this is the transaction logic itself. This machine has no systemd as PID 1, so
 * the job runs in a new session (setsid) and no boot unit is installed.
 */
describe("transaction host scripts (run locally as root)", function () {
  this.timeout(30_000);
  let dir: string;
  let etc: string;
  let base: string;
  let n = 0;

  const sh = (script: string, args: string[], input = "") =>
    spawnSync("sh", ["-c", script, "okome-test", ...args], { input, encoding: "utf8" });
  const begin = (input: Partial<TransactionInput> & Pick<TransactionInput, "ops">) => {
    const { bundle, sha256 } = buildBundle({
      service: "unit",
      capture: [],
      activate: `echo activate >> ${dir}/activations`,
      stepTimeoutSeconds: 5,
      lockWaitSeconds: 5,
      userWritableDirs: [],
      client: "unit test",
      ...input,
    });
    const name = `unit-${++n}`;
    const r = sh(hostScript("begin"), [base, sha256, name], bundle);
    assert.match(r.stdout, /^@okome txn /m, r.stdout + r.stderr);
    return `${base}/${name}`;
  };
  const wait = (txn: string, until: "final" | "armed" = "final", seconds = 20): TxnReport =>
    parseTxnOutput(sh(hostScript("wait"), [txn, until, String(seconds)]).stdout);
  const apply = (input: Partial<TransactionInput> & Pick<TransactionInput, "ops">) =>
    wait(begin(input));
  const write = (p: string, content: string, mode = "0644", over = {}): FileOp => ({
    path: p,
    kind: "write",
    file: { content, mode, owner: "root", group: "root", secret: false, ...over },
  });
  /** Temp files beside the targets, and transaction dirs not yet collected. */
  const leftovers = () =>
    fs
      .readdirSync(etc, { recursive: true })
      .map(String)
      .filter((f) => path.basename(f).startsWith(NEW_PREFIX));
  const read = (p: string) => fs.readFileSync(p, "utf8");
  const mode = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8).padStart(4, "0");
  const activations = () =>
    fs.existsSync(`${dir}/activations`) ? read(`${dir}/activations`).split("\n").length - 1 : 0;

  before(() => {
    assert.equal(process.getuid?.(), 0, "runs as root, like the transaction on a host");
    fs.mkdirSync(SAFE_ROOT, { recursive: true, mode: 0o755 });
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(`${SAFE_ROOT}/t-`);
    fs.chmodSync(dir, 0o755);
    etc = path.join(dir, "etc");
    base = path.join(dir, "txn");
    fs.mkdirSync(etc, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes, validates, activates, verifies, reports originals, and keeps no secrets", () => {
    fs.writeFileSync(`${etc}/a.conf`, "stock\n", { mode: 0o640 });
    const weird = `${etc}/with space's $x.conf`;
    const r = apply({
      ops: [
        write(`${etc}/a.conf`, "new a\n", "0600"),
        write(`${etc}/d/new.conf`, "new\n", "0640", { dirMode: "0700" }),
        write(weird, "q\n"),
      ],
      capture: [`${etc}/a.conf`, `${etc}/d/new.conf`],
      validate: `grep -q 'new a' '${etc}/a.conf' && echo "syntax ok, it's" '$HOME'`,
      verify: "echo verified",
    });
    assert.ok(r.done, JSON.stringify(r));
    assert.equal(r.state, "done");
    assert.deepEqual(r.phases, ["lock", "backup", "write", "validate", "activate", "verify"]);
    assert.equal(r.steps.validate.output, "syntax ok, it's $HOME\n");
    assert.equal(read(`${etc}/a.conf`), "new a\n");
    assert.equal(mode(`${etc}/a.conf`), "0600");
    assert.equal(mode(`${etc}/d`), "0700", "a directory the set creates gets its dirMode");
    assert.equal(read(weird), "q\n");
    assert.deepEqual(r.originals, {
      0: { kind: "file", content: "stock\n", mode: "0640", owner: "root", group: "root" },
      1: { kind: "absent", createdDir: `${etc}/d` },
    });
    assert.equal(activations(), 1);
    assert.deepEqual(leftovers(), []);
    const txn = fs.readdirSync(base).filter((f) => !f.startsWith("."));
    assert.deepEqual(
      fs.readdirSync(`${base}/${txn[0]}`).filter((f) => ["bak", "new"].includes(f)),
      [],
      "backups and new contents (secrets) are gone once it ends",
    );
  });

  const failures: [string, () => Partial<TransactionInput>][] = [
    ["validate", () => ({ validate: "echo 'nginx: [emerg] unknown directive' >&2; exit 1" })],
    ["activate", () => ({ activate: `echo activate >> ${dir}/activations; exit 3` })],
    ["verify", () => ({ verify: "echo probe failed; exit 7" })],
  ];
  for (const [phase, settings] of failures) {
    it(`a ${phase} failure restores every file (content, mode, absence) and re-activates`, () => {
      fs.writeFileSync(`${etc}/a.conf`, "stock\n", { mode: 0o640 });
      const r = apply({
        ops: [write(`${etc}/a.conf`, "new\n", "0600"), write(`${etc}/new/deep/n.conf`, "n\n")],
        ...settings(),
      });
      assert.equal(r.state, "failed");
      assert.equal(r.failed, phase);
      assert.equal(
        r.steps.rollback.rc,
        phase === "activate" ? 1 : 0,
        "a failing re-activation is reported",
      );
      assert.equal(read(`${etc}/a.conf`), "stock\n");
      assert.equal(mode(`${etc}/a.conf`), "0640");
      assert.equal(
        fs.existsSync(`${etc}/new`),
        false,
        "directories the write created are removed again",
      );
      assert.equal(
        activations(),
        phase === "validate" ? 1 : 2,
        "validate failures never reach activate; rollback re-activates",
      );
      assert.deepEqual(leftovers(), []);
    });
  }

  it("a failed removal puts the file back, and the directory the removal took away, as they were", () => {
    const timerDir = `${etc}/logrotate.timer.d`;
    fs.mkdirSync(timerDir, { mode: 0o750 });
    fs.chmodSync(timerDir, 0o750);
    fs.writeFileSync(`${timerDir}/okome.conf`, "[Timer]\n", { mode: 0o644 });
    const r = apply({
      ops: [
        {
          path: `${timerDir}/okome.conf`,
          kind: "restore",
          original: { kind: "absent", createdDir: timerDir },
        },
      ],
      activate: `echo activate >> ${dir}/activations; test -e ${timerDir}/okome.conf`,
    });
    assert.equal(r.state, "failed");
    assert.equal(r.failed, "activate");
    assert.equal(r.steps.rollback.rc, 0, r.steps.rollback.output);
    assert.equal(read(`${timerDir}/okome.conf`), "[Timer]\n");
    assert.equal(mode(timerDir), "0750");
    assert.deepEqual(leftovers(), []);
  });

  it("a failed write (unknown owner) rolls back the files already written", () => {
    fs.writeFileSync(`${etc}/a.conf`, "stock\n");
    const r = apply({
      ops: [
        write(`${etc}/a.conf`, "new\n"),
        write(`${etc}/b.conf`, "b\n", "0644", { owner: "no-such-user-okome" }),
      ],
    });
    assert.equal(r.failed, "write");
    assert.equal(read(`${etc}/a.conf`), "stock\n");
    assert.equal(fs.existsSync(`${etc}/b.conf`), false);
    assert.deepEqual(leftovers(), []);
  });

  it("a step that hangs is cut off by the step timeout and rolled back", () => {
    const r = apply({
      ops: [write(`${etc}/a.conf`, "x\n")],
      validate: "sleep 30",
      stepTimeoutSeconds: 1,
    });
    assert.equal(r.failed, "validate");
    assert.equal(r.steps.validate.rc, 124);
    assert.equal(fs.existsSync(`${etc}/a.conf`), false);
  });

  describe("links and writable parents (a service user must never steer root's writes)", () => {
    const victim = () => `${dir}/victim`;
    beforeEach(() => fs.writeFileSync(victim(), "victim\n", { mode: 0o644 }));

    it("refuses a target that is a symbolic link, naming it, and writes nothing", () => {
      fs.writeFileSync(`${etc}/a.conf`, "stock\n");
      fs.symlinkSync(victim(), `${etc}/l.conf`);
      const r = apply({
        ops: [write(`${etc}/a.conf`, "new\n"), write(`${etc}/l.conf`, "owned\n")],
      });
      assert.equal(r.failed, "backup");
      assert.deepEqual(r.refused, { 1: { kind: "link", target: victim() } });
      assert.equal(read(victim()), "victim\n");
      assert.equal(read(`${etc}/a.conf`), "stock\n", "nothing written");
      assert.equal(r.phases.includes("write"), false);
    });

    it("refuses a parent a non-root user can write (Debian's /etc/redis), naming it", () => {
      const shared = `${etc}/redis`;
      fs.mkdirSync(shared);
      fs.chownSync(shared, 0, 65534);
      fs.chmodSync(shared, 0o2770);
      const r = apply({ ops: [write(`${shared}/redis.conf`, "x\n")] });
      assert.equal(r.failed, "backup");
      assert.deepEqual(r.refused, {
        0: { kind: "parent", dir: shared, owner: "root:nogroup", mode: "2770" },
      });
      assert.equal(fs.existsSync(`${shared}/redis.conf`), false);
    });

    it("in a user-writable dir the set expects, the old fixed temp name planted as a link leads nowhere", () => {
      const shared = `${etc}/redis`;
      fs.mkdirSync(shared);
      fs.chownSync(shared, 65534, 65534);
      fs.chmodSync(shared, 0o2770);
      // What the redis user could plant against the previous provider: its fixed temp name.
      fs.symlinkSync(victim(), `${shared}/.redis.conf.okome-new`);
      const r = apply({
        ops: [write(`${shared}/redis.conf`, "new\n", "0640")],
        userWritableDirs: [shared],
      });
      assert.ok(r.done, JSON.stringify(r));
      assert.equal(read(victim()), "victim\n");
      assert.equal(read(`${shared}/redis.conf`), "new\n");
      assert.equal(fs.statSync(`${shared}/redis.conf`).uid, 0);
    });

    it("an ancestor that others can write is refused too", () => {
      const open = `${etc}/open`;
      fs.mkdirSync(`${open}/inner`, { recursive: true });
      fs.chmodSync(open, 0o777);
      const r = apply({ ops: [write(`${open}/inner/x.conf`, "x\n")] });
      assert.deepEqual(r.refused[0], {
        kind: "parent",
        dir: open,
        owner: "root:root",
        mode: "777",
      });
    });
  });

  describe("rollback that cannot complete", () => {
    it("a failed rollback keeps its backups and says where", () => {
      fs.writeFileSync(`${etc}/a.conf`, "stock\n");
      // Activation fails both times: the rollback's re-activation too.
      const r = apply({ ops: [write(`${etc}/a.conf`, "new\n")], activate: "exit 4" });
      assert.equal(r.failed, "activate");
      assert.notEqual(r.steps.rollback.rc, 0);
      assert.ok(r.keptBackups, JSON.stringify(r));
      assert.equal(read(`${r.keptBackups}/0`), "stock\n", "the backup is still there");
      assert.equal(read(`${etc}/a.conf`), "stock\n", "the files were restored all the same");
    });

    it("a path with no backup fails the rollback instead of being skipped", () => {
      fs.writeFileSync(`${etc}/a.conf`, "stock\n");
      const txn = begin({ ops: [write(`${etc}/a.conf`, "new\n")], deadmanSeconds: 30 });
      assert.equal(wait(txn, "armed").state, "armed");
      fs.rmSync(`${txn}/bak/0`);
      const rb = sh(hostScript("txn"), ["rollback", txn]);
      assert.equal(rb.status, 0, rb.stderr);
      assert.equal(read(`${txn}/state`).trim(), "rollback-failed");
      const log = parseTxnOutput(read(`${txn}/log`));
      assert.match(log.steps.rollback.output, /no backup of .*a\.conf: left as it is/);
      fs.writeFileSync(`${txn}/confirm`, "");
    });
  });

  describe("the dead-man switch (the transaction waits for a confirmation)", () => {
    const arm = (seconds = 3) => {
      fs.writeFileSync(`${etc}/sshd.conf`, "old\n");
      const txn = begin({
        ops: [write(`${etc}/sshd.conf`, "new\n")],
        deadmanSeconds: seconds,
        verify: "echo verified",
      });
      assert.equal(wait(txn, "armed").state, "armed");
      assert.equal(read(`${etc}/sshd.conf`), "new\n");
      return txn;
    };

    it("restores the old config and re-activates by itself when nobody confirms", () => {
      const r = wait(arm());
      assert.equal(r.state, "expired");
      assert.equal(read(`${etc}/sshd.conf`), "old\n");
      assert.equal(activations(), 2);
    });

    it("a confirmation runs verify and ends it", () => {
      const txn = arm(20);
      sh(hostScript("confirm"), [txn]);
      const r = wait(txn);
      assert.equal(r.state, "done");
      assert.equal(r.steps.verify.output, "verified\n");
      assert.equal(read(`${etc}/sshd.conf`), "new\n");
      assert.equal(activations(), 1);
    });

    it("a reboot before the confirmation: the boot unit's script restores the files, without activating", () => {
      const txn = arm(60);
      // The runner dies with the machine; the state file says armed.
      process.kill(Number(read(`${txn}/runner.pid`)), "SIGKILL");
      const r = spawnSync(
        "sh",
        [path.join(__dirname, "../../../providers/configSet/host/recover.sh"), base],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /rolled-back/);
      assert.equal(read(`${etc}/sshd.conf`), "old\n");
      assert.equal(activations(), 1, "only the transaction's own activation; none at boot");
    });
  });

  describe("the host lock", () => {
    it("serializes two transactions on one host, and a run that waits too long names the holder", async () => {
      const slow = begin({
        ops: [write(`${etc}/a.conf`, "a\n")],
        activate: `echo start >> ${dir}/order; sleep 3; echo end >> ${dir}/order`,
      });
      await new Promise((r) => setTimeout(r, 500));
      const impatient = wait(
        begin({
          ops: [write(`${etc}/b.conf`, "b\n")],
          lockWaitSeconds: 1,
          client: "okome@other-stack pid 7",
        }),
      );
      assert.equal(impatient.failed, "lock");
      assert.match(impatient.holder ?? "", /^unit unit-\d+ \(unit test\) since \d{4}-/);
      assert.equal(fs.existsSync(`${etc}/b.conf`), false);
      const patient = begin({
        ops: [write(`${etc}/c.conf`, "c\n")],
        activate: `echo start >> ${dir}/order; echo end >> ${dir}/order`,
        lockWaitSeconds: 20,
      });
      assert.equal(wait(slow).state, "done");
      assert.equal(wait(patient).state, "done");
      assert.equal(read(`${dir}/order`), "start\nend\nstart\nend\n", "never interleaved");
    });
  });

  it("the next transaction reports and removes one whose runner died in the queue", () => {
    const holder = begin({ ops: [write(`${etc}/a.conf`, "a\n")], deadmanSeconds: 30 });
    assert.equal(wait(holder, "armed").state, "armed");
    const queued = begin({ ops: [write(`${etc}/b.conf`, "b\n")], lockWaitSeconds: 30 });
    const waiting = () =>
      fs.existsSync(`${queued}/log`) && read(`${queued}/log`).includes("waiting");
    for (let i = 0; i < 50 && !waiting(); i++) spawnSync("sleep", ["0.1"]);
    assert.ok(waiting(), "the second transaction queues behind the first");
    process.kill(Number(read(`${queued}/runner.pid`)), "SIGKILL");
    sh(hostScript("confirm"), [holder]);
    assert.equal(wait(holder).state, "done");
    const next = apply({ ops: [write(`${etc}/c.conf`, "c\n")] });
    assert.ok(next.done);
    assert.deepEqual(next.orphans, [
      { name: path.basename(queued), was: "queued", now: "abandoned" },
    ]);
    assert.equal(fs.existsSync(queued), false);
    assert.equal(fs.existsSync(`${etc}/b.conf`), false);
  });

  it("a runner that died before writing (backing up) is swept as abandoned, not rolled back", () => {
    const dead = `${base}/unit-preparing`;
    fs.mkdirSync(`${dead}/new`, { recursive: true });
    fs.writeFileSync(`${dead}/new/0`, "a secret\n");
    fs.writeFileSync(`${dead}/state`, "preparing\n");
    const r = apply({ ops: [write(`${etc}/a.conf`, "a\n")] });
    assert.deepEqual(r.orphans, [{ name: "unit-preparing", was: "preparing", now: "abandoned" }]);
    assert.equal(fs.existsSync(dead), false, "its new contents (secrets) are gone with it");
  });

  it("a queued transaction nobody follows any more (its run was stopped) does not apply when it gets the lock", () => {
    const holder = begin({ ops: [write(`${etc}/a.conf`, "a\n")], deadmanSeconds: 30 });
    assert.equal(wait(holder, "armed").state, "armed");
    const stale = begin({ ops: [write(`${etc}/b.conf`, "b\n")], lockWaitSeconds: 30 });
    // Its provider is gone: no heartbeat, and it was begun long ago.
    execFileSync("touch", ["-d", "-5 min", `${stale}/manifest`]);
    sh(hostScript("confirm"), [holder]);
    assert.equal(wait(holder).state, "done");
    const r = wait(stale);
    assert.equal(r.failed, "unfollowed");
    assert.equal(fs.existsSync(`${etc}/b.conf`), false);
  });

  it("a daemon a step leaves behind does not hold the host's lock", () => {
    const r = apply({
      ops: [write(`${etc}/a.conf`, "a\n")],
      activate: "sleep 20 >/dev/null 2>&1 &",
    });
    assert.ok(r.done);
    const next = apply({ ops: [write(`${etc}/b.conf`, "b\n")], lockWaitSeconds: 2 });
    assert.ok(next.done, JSON.stringify(next));
  });

  it("a sweep leaves a transaction that is still starting alone, and removes one that never started", () => {
    // What begin.sh leaves before its runner starts: the dir, no state file yet.
    const starting = `${base}/unit-starting`;
    const stale = `${base}/unit-stale`;
    for (const d of [starting, stale]) fs.mkdirSync(d, { recursive: true });
    execFileSync("touch", ["-d", "-10 min", stale]);
    const r = apply({ ops: [write(`${etc}/a.conf`, "a\n")] });
    assert.ok(r.done);
    assert.deepEqual(r.orphans, [{ name: "unit-stale", was: "unstarted", now: "abandoned" }]);
    assert.equal(fs.existsSync(starting), true, "a young dir may be a runner about to start");
    assert.equal(wait(starting, "final", 1).state, "starting");
    execFileSync("touch", ["-d", "-10 min", starting]);
    assert.equal(
      wait(starting).state,
      "unstarted",
      "the provider stops waiting for a runner that never came",
    );
  });

  it("begin refuses an upload whose digest does not match, and leaves nothing", () => {
    const { bundle, sha256 } = buildBundle({
      service: "unit",
      ops: [write(`${etc}/a.conf`, "x\n")],
      capture: [],
      activate: "true",
      stepTimeoutSeconds: 5,
      lockWaitSeconds: 5,
      userWritableDirs: [],
      client: "unit",
    });
    const cut = bundle.slice(0, Math.floor(bundle.length / 2));
    const r = sh(hostScript("begin"), [base, sha256, "unit-cut"], cut);
    const report = parseTxnOutput(r.stdout);
    assert.equal(report.failed, "upload");
    assert.match(report.uploadError ?? "", /digest mismatch/);
    assert.deepEqual(
      fs.readdirSync(base).filter((f) => f !== ".lock"),
      [],
    );
    assert.equal(fs.existsSync(`${etc}/a.conf`), false);
  });

  it("the read script reports content, mode, owner and absence, and never follows a link", () => {
    fs.writeFileSync(`${etc}/a.conf`, "", { mode: 0o600 });
    fs.writeFileSync(`${etc}/b.conf`, "héllo\n");
    fs.symlinkSync("/etc/shadow", `${etc}/shadow.conf`);
    const out = sh(
      hostScript("read"),
      [],
      [`${etc}/a.conf`, `${etc}/b.conf`, `${etc}/none`, `${etc}/shadow.conf`].join("\n") + "\n",
    ).stdout;
    assert.deepEqual(parseReadOutput(out, 4), [
      { present: true, content: "", mode: "0600", owner: "root", group: "root" },
      { present: true, content: "héllo\n", mode: "0644", owner: "root", group: "root" },
      { present: false },
      { present: "refused", why: "is a symbolic link (to /etc/shadow)" },
    ]);
  });
});
