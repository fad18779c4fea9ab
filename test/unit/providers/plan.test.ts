import { strict as assert } from "node:assert";
import {
  buildOutputs,
  describeChanges,
  diffState,
  inputsFromOutputs,
  maskSecrets,
  planApply,
  planDelete,
  sha256,
} from "../../../providers/configSet/plan";
import { WireInputs, WireOutputs } from "../../../providers/configSet/wire";
import { SECRET_SIG } from "../../../providers/host/wire";

const file = (content: string, extra: Partial<WireInputs["files"][string]> = {}) => ({
  content,
  mode: "0644",
  owner: "root",
  group: "root",
  secret: false,
  ...extra,
});

const inputs = (files: WireInputs["files"], over: Partial<WireInputs> = {}): WireInputs => ({
  connection: {
    name: "okome-edge",
    address: "10.86.0.20",
    port: 22,
    user: "okome",
    privateKeyPath: "/k",
  },
  kind: "nginx",
  service: "nginx",
  files,
  stepTimeoutSeconds: 60,
  lockWaitSeconds: 600,
  userWritableDirs: [],
  validate: "nginx -t",
  activate: "systemctl reload nginx",
  ...over,
});

/** Every value not under a secret wrapper (what would be stored in plaintext). */
function outsideSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(outsideSecrets);
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return "[secret]";
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, outsideSecrets(x)]));
  }
  return v;
}

const applied = (ins: WireInputs, originals: WireOutputs["originals"] = {}) =>
  buildOutputs(ins, undefined, originals, "ssh-ed25519 AAAA");

describe("config set planning (pure, from state)", () => {
  const A = "/etc/nginx/a.conf";
  const B = "/etc/nginx/b.conf";

  it("an unchanged set plans nothing and diffs as no change", () => {
    const ins = inputs({ [A]: file("a\n") });
    const outs = applied(ins, { [A]: { kind: "absent" } });
    assert.deepEqual(planApply(outs, ins).ops, []);
    assert.deepEqual(diffState(outs, ins), { changes: false, replaces: [] });
  });

  it("writes only files whose content or metadata changed, and restores removed ones", () => {
    const old = applied(inputs({ [A]: file("a\n"), [B]: file("b\n") }), {
      [A]: { kind: "absent" },
      [B]: { kind: "file", content: "stock b\n", mode: "0640", owner: "root", group: "adm" },
    });
    const next = inputs({ [A]: file("a\n", { mode: "0600" }), "/etc/nginx/c.conf": file("c\n") });
    const plan = planApply(old, next);
    assert.deepEqual(
      plan.ops.map((o) => [o.kind, o.path]),
      [
        ["write", A],
        ["restore", B],
        ["write", "/etc/nginx/c.conf"],
      ],
    );
    assert.deepEqual(plan.capture, ["/etc/nginx/c.conf"]);
    assert.equal(diffState(old, next).changes, true);
  });

  it("a file refresh found missing is rewritten, keeping its recorded original", () => {
    const ins = inputs({ [A]: file("a\n") });
    const outs = applied(ins, {
      [A]: { kind: "file", content: "stock\n", mode: "0644", owner: "root", group: "root" },
    });
    const refreshed: WireOutputs = { ...outs, files: {} };
    const plan = planApply(refreshed, ins);
    assert.deepEqual(
      plan.ops.map((o) => o.path),
      [A],
    );
    assert.deepEqual(plan.capture, []);
    assert.equal(buildOutputs(ins, refreshed, {}, "k").originals[A].kind, "file");
  });

  it("a settings-only change is a change with no file ops", () => {
    const ins = inputs({ [A]: file("a\n") });
    const outs = applied(ins);
    const next = { ...ins, activate: "nginx -s reload" };
    assert.deepEqual(diffState(outs, next), { changes: true, replaces: [] });
    assert.deepEqual(planApply(outs, next).ops, []);
  });

  it("a new host name replaces the set", () => {
    const ins = inputs({ [A]: file("a\n") });
    const next = { ...ins, connection: { ...ins.connection, name: "okome-model" } };
    assert.deepEqual(diffState(applied(ins), next), { changes: true, replaces: ["connection"] });
  });

  it("delete restores every original", () => {
    const outs = applied(inputs({ [A]: file("a\n"), [B]: file("b\n") }), {
      [A]: { kind: "absent" },
      [B]: { kind: "file", content: "stock\n", mode: "0644", owner: "root", group: "root" },
    });
    assert.deepEqual(
      planDelete(outs).ops.map((o) => (o.kind === "restore" ? [o.path, o.original.kind] : [])),
      [
        [A, "absent"],
        [B, "file"],
      ],
    );
  });

  it("outputs carry sha256 per file; refresh inputs mirror the outputs", () => {
    const ins = inputs({ [A]: file("a\n") });
    const outs = applied(ins);
    assert.equal(outs.files[A].sha256, sha256("a\n"));
    assert.equal(outs.host, "okome-edge");
    assert.deepEqual(inputsFromOutputs(outs), { ...ins });
  });

  it("masks secret files (content, hash, original) and an inline key, nothing else", () => {
    const ins = inputs(
      { [A]: file("requirepass hunter2\n", { secret: true }), [B]: file("b\n") },
      { connection: { name: "h", address: "a", port: 22, user: "u", privateKey: "-----BEGIN" } },
    );
    const outs = maskSecrets(
      applied(ins, {
        [A]: { kind: "file", content: "old pw\n", mode: "0600", owner: "root", group: "root" },
      }),
    );
    const exposed = JSON.stringify(outsideSecrets(outs));
    for (const plain of ["hunter2", "old pw", "BEGIN", sha256("requirepass hunter2\n")])
      assert.ok(!exposed.includes(plain), plain);
    assert.ok(SECRET_SIG in (outs.files[A].content as unknown as object));
    assert.equal(outs.files[B].content, "b\n");
  });

  it("describes a failed change as a unified diff with line numbers, never showing secrets", () => {
    const old = applied(
      inputs({ [A]: file("one\ntwo\nthree\n"), [B]: file("pw1\n", { secret: true }) }),
    );
    const next = inputs({ [A]: file("one\nTWO\nthree\n"), [B]: file("pw2\n", { secret: true }) });
    const text = describeChanges(old, planApply(old, next).ops);
    assert.match(text, /^--- \/etc\/nginx\/a\.conf/m);
    assert.match(text, /^@@ -1,3 \+1,3 @@$/m);
    assert.match(text, /^-two$/m);
    assert.match(text, /^\+TWO$/m);
    assert.match(text, /b\.conf: secret content changed \(not shown\)/);
    assert.ok(!text.includes("pw2"));
  });
});
