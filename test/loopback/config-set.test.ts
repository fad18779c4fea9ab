import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { implementation as cs } from "../../providers/configSet/impl";
import { validateInputs, withDefaults } from "../../providers/configSet/validate";
import { NEW_PREFIX, TXN_BASE } from "../../providers/configSet/script";
import { WireInputs, WireOutputs } from "../../providers/configSet/wire";
import { SECRET_SIG } from "../../providers/host/wire";
import { closePool } from "../../providers/ssh/pool";
import { LoopbackSshd, SSHD, sshdConfig, useLoopbackSshd } from "./sshd";
import { newKeyPair } from "../support/keys";

/** Secrets come back from the provider wrapped; the engine strips them before the next call. */
function unwrap<T>(v: T): T {
  if (Array.isArray(v)) return v.map(unwrap) as T;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SECRET_SIG in o) return unwrap(o.value) as T;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)])) as T;
  }
  return v;
}

describe("config transaction over SSH (loopback sshd, as root)", function () {
  this.timeout(90_000);
  let sshd: LoopbackSshd;
  let root: string;
  let service: string;
  let n = 0;

  const inputs = (
    files: Record<string, Partial<WireInputs["files"][string]> & { content: string }>,
    over: Partial<WireInputs> = {},
  ) => {
    const raw = {
      connection: {
        name: "loopback",
        address: "127.0.0.1",
        port: sshd.port,
        user: "root",
        privateKeyPath: sshd.clientKeyPath,
        hostKey: sshd.hostKey,
      },
      kind: "plain",
      service,
      files,
      activate: `echo reloaded >> ${root}/activations`,
      ...over,
    } as Record<string, unknown>;
    assert.deepEqual(validateInputs(raw), []);
    return withDefaults(raw);
  };
  /** Transaction dirs not collected, and temp files beside the targets. */
  const leftovers = () => [
    ...(fs.existsSync(TXN_BASE) ? fs.readdirSync(TXN_BASE) : []).filter((f) =>
      f.startsWith(`${service}-`),
    ),
    ...fs.readdirSync(root).filter((f) => f.startsWith(NEW_PREFIX)),
  ];
  const ssh = useLoopbackSshd();
  const count = (event: string) => ssh.events(event).length;

  before(() => (sshd = ssh.sshd));
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(sshd.dir, "etc-"));
    service = `loop${++n}`;
  });

  it("create writes files atomically with mode/owner, records originals, and cleans up", async () => {
    fs.writeFileSync(`${root}/a.conf`, "stock a\n", { mode: 0o644 });
    const ins = inputs({
      [`${root}/a.conf`]: { content: "managed a\n", mode: "0640" },
      [`${root}/conf.d/b.conf`]: { content: "b\n" },
    });
    const { id, outs } = await cs.create(ins);
    assert.equal(id, `loopback:${service}`);
    assert.equal(fs.readFileSync(`${root}/a.conf`, "utf8"), "managed a\n");
    assert.equal((fs.statSync(`${root}/a.conf`).mode & 0o7777).toString(8), "640");
    assert.equal(fs.readFileSync(`${root}/conf.d/b.conf`, "utf8"), "b\n");
    assert.deepEqual(outs.originals[`${root}/a.conf`], {
      kind: "file",
      content: "stock a\n",
      mode: "0644",
      owner: "root",
      group: "root",
    });
    assert.deepEqual(outs.originals[`${root}/conf.d/b.conf`], {
      kind: "absent",
      createdDir: `${root}/conf.d`,
    });
    assert.equal(outs.hostKey, sshd.hostKey);
    assert.equal(fs.readFileSync(`${root}/activations`, "utf8"), "reloaded\n");
    assert.deepEqual(leftovers(), []);
    assert.equal(count("connect"), 1);
    // The engine's next diff runs from state alone.
    assert.deepEqual(await cs.diff(id, unwrap(outs) as WireOutputs, ins), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  it("a config that fails validation is never activated, is rolled back, and the error carries the validator's words", async () => {
    const file = `${root}/site.conf`;
    const ins = inputs(
      { [file]: { content: "good\n" } },
      {
        validate: `grep -q '^good' ${file} || { echo "${file}:1: unknown directive" >&2; exit 1; }`,
      },
    );
    const { id, outs } = await cs.create(ins);
    fs.writeFileSync(`${root}/activations`, "");
    const bad = { ...ins, files: { [file]: { ...ins.files[file], content: "bad\n" } } };
    await assert.rejects(cs.update(id, unwrap(outs) as WireOutputs, bad), (e: Error) => {
      assert.match(e.message, new RegExp(`^loopback: ${service}: validate \\(.*\\) exited 1\\.`));
      assert.match(e.message, /site\.conf:1: unknown directive/);
      assert.match(e.message, /previous config was restored and re-activated/);
      assert.match(e.message, /^-bad|^\+bad/m);
      return true;
    });
    assert.equal(fs.readFileSync(file, "utf8"), "good\n");
    // Re-activation after restore is the only activation.
    assert.equal(fs.readFileSync(`${root}/activations`, "utf8"), "reloaded\n");
    assert.deepEqual(leftovers(), []);
  });

  it("a config that passes validation but fails verify is rolled back and re-activated", async () => {
    const file = `${root}/v.conf`;
    const ins = inputs(
      { [file]: { content: "v1\n" } },
      { verify: `grep -q v1 ${file} || { echo probe failed; exit 7; }` },
    );
    const { id, outs } = await cs.create(ins);
    const next = { ...ins, files: { [file]: { ...ins.files[file], content: "v2\n" } } };
    await assert.rejects(
      cs.update(id, unwrap(outs) as WireOutputs, next),
      /verify \(.*\) exited 7\.\nprobe failed/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "v1\n");
    assert.equal(fs.readFileSync(`${root}/activations`, "utf8"), "reloaded\nreloaded\nreloaded\n");
    assert.deepEqual(leftovers(), []);
  });

  it("read reports hand edits (content and mode) so the next diff sees drift", async () => {
    const file = `${root}/d.conf`;
    const ins = inputs({ [file]: { content: "wanted\n" } });
    const { id, outs } = await cs.create(ins);
    fs.writeFileSync(file, "hand edit\n");
    fs.chmodSync(file, 0o600);
    const r = await cs.read(id, unwrap(outs) as WireOutputs);
    const live = unwrap(r.props) as WireOutputs;
    assert.equal(live.files[file].content, "hand edit\n");
    assert.equal(live.files[file].mode, "0600");
    assert.equal((unwrap(r.inputs) as WireInputs).files[file].content, "hand edit\n");
    assert.equal((await cs.diff(id, live, ins)).changes, true);
    const restored = await cs.update(id, live, ins);
    assert.equal(fs.readFileSync(file, "utf8"), "wanted\n");
    assert.equal((await cs.diff(id, unwrap(restored.outs) as WireOutputs, ins)).changes, false);
  });

  it("an update that only changes settings opens no session", async () => {
    const file = `${root}/s.conf`;
    const ins = inputs({ [file]: { content: "x\n" } });
    const { id, outs } = await cs.create(ins);
    closePool();
    fs.rmSync(ssh.logFile, { force: true });
    const r = await cs.update(id, unwrap(outs) as WireOutputs, { ...ins, activate: "true" });
    assert.equal(unwrap(r.outs).activate, "true");
    assert.equal(count("connect"), 0);
  });

  it("delete restores replaced files, removes created ones, and re-activates", async () => {
    fs.writeFileSync(`${root}/keep.conf`, "original\n", { mode: 0o600 });
    const ins = inputs({
      [`${root}/keep.conf`]: { content: "ours\n" },
      [`${root}/new.conf`]: { content: "new\n" },
    });
    const { id, outs } = await cs.create(ins);
    await cs.delete(id, unwrap(outs) as WireOutputs);
    assert.equal(fs.readFileSync(`${root}/keep.conf`, "utf8"), "original\n");
    assert.equal((fs.statSync(`${root}/keep.conf`).mode & 0o777).toString(8), "600");
    assert.equal(fs.existsSync(`${root}/new.conf`), false);
    assert.deepEqual(leftovers(), []);
  });

  it("removing a file from the set restores its original", async () => {
    const ins = inputs({
      [`${root}/one.conf`]: { content: "1\n" },
      [`${root}/two.conf`]: { content: "2\n" },
    });
    const { id, outs } = await cs.create(ins);
    const fewer = { ...ins, files: { [`${root}/one.conf`]: ins.files[`${root}/one.conf`] } };
    const r = await cs.update(id, unwrap(outs) as WireOutputs, fewer);
    assert.equal(fs.existsSync(`${root}/two.conf`), false);
    assert.deepEqual(Object.keys(unwrap(r.outs).originals), [`${root}/one.conf`]);
  });

  it("without a pin, the first key seen is kept in state and a different key later fails", async () => {
    const ins = inputs({ [`${root}/t.conf`]: { content: "1\n" } });
    const unpinned = { ...ins, connection: { ...ins.connection, hostKey: undefined } };
    const { id, outs } = await cs.create(unpinned);
    assert.equal(outs.hostKey, sshd.hostKey);
    closePool();
    const forged = {
      ...(unwrap(outs) as WireOutputs),
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoninMJaKR1zFJcE+Et4bNYaqIB8Y4mowg8qHCBZJX4",
    };
    const next = {
      ...unpinned,
      files: { [`${root}/t.conf`]: { ...unpinned.files[`${root}/t.conf`], content: "2\n" } },
    };
    await assert.rejects(
      cs.update(id, forged, next),
      /host key mismatch: expected SHA256:\S+ \(ssh-ed25519\) from state \(key seen on first use\)/,
    );
    assert.equal(fs.readFileSync(`${root}/t.conf`, "utf8"), "1\n");
  });

  it("secret files stay wrapped as secrets in every output", async () => {
    const ins = inputs({
      [`${root}/users.acl`]: { content: "user app on >hunter2\n", mode: "0600", secret: true },
    });
    const { outs } = await cs.create(ins);
    const file = outs.files[`${root}/users.acl`] as unknown as Record<string, unknown>;
    assert.ok(SECRET_SIG in (file.content as object));
    assert.ok(SECRET_SIG in (file.sha256 as object));
    assert.deepEqual(outs.originals[`${root}/users.acl`], { kind: "absent" });
  });

  it("a link planted at a managed path is refused by name, before anything is written", async () => {
    fs.writeFileSync(`${root}/victim`, "victim\n");
    fs.symlinkSync(`${root}/victim`, `${root}/l.conf`);
    const ins = inputs({
      [`${root}/a.conf`]: { content: "a\n" },
      [`${root}/l.conf`]: { content: "x\n" },
    });
    await assert.rejects(cs.create(ins), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`${root}/l\\.conf is a symbolic link \\(to ${root}/victim\\)`),
      );
      assert.match(e.message, /Nothing was written; the host is unchanged\./);
      return true;
    });
    assert.equal(fs.readFileSync(`${root}/victim`, "utf8"), "victim\n");
    assert.equal(fs.existsSync(`${root}/a.conf`), false);
    assert.deepEqual(leftovers(), []);
  });

  it("refresh refuses to read through a link, so it cannot pull another file into state", async () => {
    const file = `${root}/r.conf`;
    const { id, outs } = await cs.create(inputs({ [file]: { content: "mine\n" } }));
    fs.rmSync(file);
    fs.symlinkSync("/etc/shadow", file);
    await assert.rejects(
      cs.read(id, unwrap(outs) as WireOutputs),
      /r\.conf is a symbolic link \(to \/etc\/shadow\); okome-cache does not read through it/,
    );
  });

  for (const phase of ["upload", "write", "validate", "activate"]) {
    it(`a connection cut at ${phase} is survived: the provider reconnects and follows the transaction to its end`, async () => {
      const file = `${root}/cut.conf`;
      fs.writeFileSync(file, "old\n");
      process.env.OKOME_TXN_FAULT = `cut:${phase}`;
      try {
        const ins = inputs(
          { [file]: { content: "new\n" } },
          { validate: "sleep 1", activate: `sleep 1; echo reloaded >> ${root}/activations` },
        );
        await cs.create(ins);
      } finally {
        delete process.env.OKOME_TXN_FAULT;
      }
      assert.equal(fs.readFileSync(file, "utf8"), "new\n");
      assert.equal(fs.readFileSync(`${root}/activations`, "utf8"), "reloaded\n");
      assert.equal(count("connect"), 2, "the cut connection and one reconnection");
      assert.deepEqual(leftovers(), []);
    });
  }

  describe("dead-man switch (sshd manages its own config)", () => {
    const sshdSet = (content: string, timeoutSeconds: number, over: Partial<WireInputs> = {}) =>
      inputs(
        { [sshd.configPath]: { content, mode: "0600" } },
        {
          kind: "sshd",
          service: "sshd",
          validate: `${SSHD} -t -f ${sshd.configPath}`,
          activate: `kill -HUP "$(cat ${sshd.pidFile})"`,
          deadman: { timeoutSeconds },
          stepTimeoutSeconds: 5,
          ...over,
        },
      );
    const withExtra = (extra: string) => sshdConfig(sshd.dir, sshd.port, extra);

    it("keeps a change after a fresh login with the deploy key succeeds", async () => {
      const { outs } = await cs.create(sshdSet(withExtra("MaxAuthTries 5"), 31));
      assert.equal(count("connect"), 2, "the pooled connection and one fresh login");
      assert.match(fs.readFileSync(sshd.configPath, "utf8"), /MaxAuthTries 5/);
      assert.deepEqual(leftovers(), [], "the transaction ended: nothing is left to fire later");
      await cs.delete("x", unwrap(outs) as WireOutputs);
    });

    it("a change that locks the deploy key out is undone by the host itself", async () => {
      const before = fs.readFileSync(sshd.configPath, "utf8");
      const started = Date.now();
      await assert.rejects(cs.create(sshdSet(withExtra("AllowUsers nobody"), 31)), (e: Error) => {
        assert.match(
          e.message,
          /^loopback: sshd: a fresh SSH login with the deploy key failed after activation/,
        );
        assert.match(
          e.message,
          /restored the previous config by itself and the deploy key can log in again/,
        );
        return true;
      });
      assert.ok(Date.now() - started >= 31_000);
      assert.equal(fs.readFileSync(sshd.configPath, "utf8"), before);
      assert.deepEqual(leftovers(), []);
    });

    it("the confirmation login must present the key the first session saw (first-use trust included)", async () => {
      // The change swaps the server's host key: a fresh login now meets another key, as it
      // would meet an impostor. It must not count as proof that the deploy key still gets in.
      const other = `${sshd.dir}/host2_ed25519`;
      if (!fs.existsSync(other)) newKeyPair(other);
      const before = fs.readFileSync(sshd.configPath, "utf8");
      const swapped = before.replace(`${sshd.dir}/host_ed25519`, other);
      const unpinned = sshdSet(swapped, 31);
      await assert.rejects(
        cs.create({ ...unpinned, connection: { ...unpinned.connection, hostKey: undefined } }),
        /a fresh SSH login with the deploy key failed after activation \(.*host key mismatch/,
      );
      assert.equal(fs.readFileSync(sshd.configPath, "utf8"), before);
    });
  });
});
