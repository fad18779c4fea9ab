import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileOp } from "../../../providers/configSet/plan";
import {
  ApplyScriptInput,
  NEW_SUFFIX,
  TXN_PREFIX,
  buildApplyScript,
  buildConfirmScript,
  buildReadScript,
  parseReadOutput,
  parseTxnOutput,
  shQuote,
} from "../../../providers/configSet/script";

/**
 * The generated shell, run here with `sh -s` on a temp dir (what the host does after
 * `sudo -n`). No SSH, no network: this is the transaction logic itself.
 */
describe("transaction scripts (run locally with sh)", function () {
  this.timeout(20_000);
  const owner = os.userInfo().username;
  const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();
  let dir: string;
  let etc: string;
  let txnBase: string;

  const run = (script: string) => {
    const r = spawnSync("sh", ["-s"], { input: script, encoding: "utf8" });
    return {
      status: r.status,
      report: parseTxnOutput(r.stdout),
      stdout: r.stdout,
      stderr: r.stderr,
    };
  };
  const write = (p: string, content: string, mode = "0644"): FileOp => ({
    path: p,
    kind: "write",
    file: { content, mode, owner, group, secret: false },
  });
  const apply = (over: Partial<ApplyScriptInput> & Pick<ApplyScriptInput, "ops">) =>
    run(
      buildApplyScript({
        service: "unit",
        capture: [],
        activate: `echo activate >> ${shQuote(`${dir}/activations`)}`,
        stepTimeoutSeconds: 5,
        txnBase,
        ...over,
      }),
    );
  const leftovers = () => [
    ...fs.readdirSync(txnBase),
    ...fs
      .readdirSync(etc, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(NEW_SUFFIX)),
  ];
  const read = (p: string) => fs.readFileSync(p, "utf8");
  const mode = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8).padStart(4, "0");
  const activations = () =>
    fs.existsSync(`${dir}/activations`) ? read(`${dir}/activations`).split("\n").length - 1 : 0;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-script-"));
    etc = path.join(dir, "etc");
    txnBase = path.join(dir, "var-tmp");
    fs.mkdirSync(etc);
    fs.mkdirSync(txnBase);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes, validates, activates, verifies, reports originals, and leaves nothing behind", () => {
    fs.writeFileSync(`${etc}/a.conf`, "stock\n", { mode: 0o640 });
    fs.symlinkSync("a.conf", `${etc}/l.conf`);
    const weird = `${etc}/with space's $x.conf`;
    const r = apply({
      ops: [
        write(`${etc}/a.conf`, "new a\n", "0600"),
        write(`${etc}/l.conf`, "was a link\n"),
        write(`${etc}/d/new.conf`, "new\n"),
        write(weird, "q\n"),
      ],
      capture: [`${etc}/a.conf`, `${etc}/l.conf`, `${etc}/d/new.conf`],
      validate: `grep -q 'new a' ${shQuote(`${etc}/a.conf`)} && echo "syntax ok, it's" '$HOME'`,
      verify: "echo verified",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(r.report.done);
    assert.equal(r.report.steps.validate.output, "syntax ok, it's $HOME\n");
    assert.equal(read(`${etc}/a.conf`), "new a\n");
    assert.equal(mode(`${etc}/a.conf`), "0600");
    assert.equal(fs.lstatSync(`${etc}/l.conf`).isSymbolicLink(), false);
    assert.equal(read(weird), "q\n");
    assert.deepEqual(r.report.originals, {
      0: { kind: "file", content: "stock\n", mode: "0640", owner, group },
      1: { kind: "link", target: "a.conf" },
      2: { kind: "absent", createdDir: `${etc}/d` },
    });
    assert.equal(activations(), 1);
    assert.deepEqual(leftovers(), []);
  });

  const failures: [string, () => Partial<ApplyScriptInput>][] = [
    ["validate", () => ({ validate: "echo 'nginx: [emerg] unknown directive' >&2; exit 1" })],
    ["activate", () => ({ activate: `echo activate >> ${shQuote(`${dir}/activations`)}; exit 3` })],
    ["verify", () => ({ verify: "echo probe failed; exit 7" })],
  ];
  for (const [phase, settings] of failures) {
    it(`a ${phase} failure restores every file (content, mode, links, absence) and re-activates`, () => {
      fs.writeFileSync(`${etc}/a.conf`, "stock\n", { mode: 0o640 });
      fs.symlinkSync("a.conf", `${etc}/l.conf`);
      const o = settings();
      const r = apply({
        ops: [
          write(`${etc}/a.conf`, "new\n", "0600"),
          write(`${etc}/l.conf`, "x\n"),
          write(`${etc}/new/deep/n.conf`, "n\n"),
        ],
        ...o,
      });
      assert.equal(r.status, 1);
      assert.equal(r.report.failed, phase);
      assert.equal(
        r.report.steps.rollback.rc,
        phase === "activate" ? 1 : 0,
        "a failing re-activation is reported",
      );
      assert.equal(read(`${etc}/a.conf`), "stock\n");
      assert.equal(mode(`${etc}/a.conf`), "0640");
      assert.equal(fs.readlinkSync(`${etc}/l.conf`), "a.conf");
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

  it("a validate failure carries the validator's own output", () => {
    const r = apply({
      ops: [write(`${etc}/a.conf`, "x\n")],
      validate: "echo 'a.conf:3: unknown directive \"foo\"' >&2; exit 1",
    });
    assert.equal(r.report.steps.validate.rc, 1);
    assert.equal(r.report.steps.validate.output, 'a.conf:3: unknown directive "foo"\n');
  });

  it("a failed write (unknown owner) rolls back the files already written", () => {
    fs.writeFileSync(`${etc}/a.conf`, "stock\n");
    const bad: FileOp = {
      path: `${etc}/b.conf`,
      kind: "write",
      file: { content: "b\n", mode: "0644", owner: "no-such-user-okome", group, secret: false },
    };
    const r = apply({ ops: [write(`${etc}/a.conf`, "new\n"), bad] });
    assert.equal(r.report.failed, "write");
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
    assert.equal(r.report.failed, "validate");
    assert.equal(r.report.steps.validate.rc, 124);
  });

  it("refuses to replace a directory, before writing anything", () => {
    fs.mkdirSync(`${etc}/dir.conf`);
    const r = apply({ ops: [write(`${etc}/a.conf`, "x\n"), write(`${etc}/dir.conf`, "x\n")] });
    assert.equal(r.report.failed, "backup");
    assert.deepEqual(r.report.notFile, [1]);
    assert.equal(fs.existsSync(`${etc}/a.conf`), false);
    assert.deepEqual(leftovers(), []);
  });

  it("restore ops put back files, links and absence, pruning directories the set made (delete)", () => {
    fs.mkdirSync(`${etc}/made/by`, { recursive: true });
    fs.writeFileSync(`${etc}/made/by/us.conf`, "ours\n");
    fs.writeFileSync(`${etc}/f.conf`, "ours\n");
    fs.writeFileSync(`${etc}/l.conf`, "ours\n");
    fs.writeFileSync(`${etc}/gone.conf`, "ours\n");
    const r = apply({
      ops: [
        {
          path: `${etc}/f.conf`,
          kind: "restore",
          original: { kind: "file", content: "orig\n", mode: "0600", owner, group },
        },
        { path: `${etc}/l.conf`, kind: "restore", original: { kind: "link", target: "f.conf" } },
        { path: `${etc}/gone.conf`, kind: "restore", original: { kind: "absent" } },
        {
          path: `${etc}/made/by/us.conf`,
          kind: "restore",
          original: { kind: "absent", createdDir: `${etc}/made` },
        },
      ],
    });
    assert.ok(r.report.done, r.stdout);
    assert.equal(read(`${etc}/f.conf`), "orig\n");
    assert.equal(mode(`${etc}/f.conf`), "0600");
    assert.equal(fs.readlinkSync(`${etc}/l.conf`), "f.conf");
    assert.equal(fs.existsSync(`${etc}/gone.conf`), false);
    assert.equal(fs.existsSync(`${etc}/made`), false);
    assert.ok(fs.existsSync(etc), "never above the directory the set created");
  });

  it("the read script reports content, mode, owner and absence", () => {
    fs.writeFileSync(`${etc}/a.conf`, "", { mode: 0o600 });
    fs.writeFileSync(`${etc}/b.conf`, "héllo\n");
    const out = spawnSync("sh", ["-s"], {
      input: buildReadScript([`${etc}/a.conf`, `${etc}/b.conf`, `${etc}/none`]),
      encoding: "utf8",
    }).stdout;
    assert.deepEqual(parseReadOutput(out, 3), [
      { present: true, content: "", mode: "0600", owner, group },
      { present: true, content: "héllo\n", mode: "0644", owner, group },
      { present: false },
    ]);
  });

  describe("dead-man switch (detached sleep: this machine has no systemd as PID 1)", () => {
    const armed = () => {
      fs.writeFileSync(`${etc}/sshd.conf`, "old\n");
      const r = apply({
        ops: [write(`${etc}/sshd.conf`, "new\n")],
        deadmanSeconds: 2,
        verify: "echo verified",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.report.armed && !r.report.done);
      assert.equal(r.report.deadman?.how, "sleep");
      assert.equal(read(`${etc}/sshd.conf`), "new\n");
      return r.report.txnDir!;
    };

    it("restores the old config and re-activates by itself when nobody confirms", async () => {
      armed();
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal(read(`${etc}/sshd.conf`), "old\n");
      assert.equal(activations(), 2);
      assert.deepEqual(leftovers(), []);
    });

    it("confirming disarms it, runs verify, and cleans up", async () => {
      const txn = armed();
      const c = run(buildConfirmScript(txn, "echo verified", 5));
      assert.ok(c.report.done, c.stdout);
      assert.equal(c.report.steps.verify.output, "verified\n");
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(read(`${etc}/sshd.conf`), "new\n");
      assert.equal(activations(), 1);
      assert.deepEqual(leftovers(), []);
    });

    it("a confirm that comes too late finds the transaction gone", async () => {
      const txn = armed();
      await new Promise((r) => setTimeout(r, 3500));
      assert.ok(run(buildConfirmScript(txn, undefined, 5)).report.gone);
    });

    it("a verify failure after confirmation still rolls back", () => {
      const txn = armed();
      const c = run(buildConfirmScript(txn, "exit 9", 5));
      assert.equal(c.report.failed, "verify");
      assert.equal(read(`${etc}/sshd.conf`), "old\n");
      assert.deepEqual(leftovers(), []);
    });
  });

  it("names transaction dirs after the service under the base dir", () => {
    const r = apply({ ops: [write(`${etc}/a.conf`, "x\n")] });
    assert.ok(path.basename(r.report.txnDir!).startsWith(`${TXN_PREFIX}unit-`));
    assert.equal(path.dirname(r.report.txnDir!), txnBase);
  });
});
