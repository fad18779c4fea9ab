import { strict as assert } from "node:assert";
import { implementation } from "../../../providers/hostProbe/impl";
import { parseProbe } from "../../../providers/hostProbe/probe";
import { ProbeInputs, ProbeOutputs } from "../../../providers/hostProbe/wire";
import { UNKNOWN } from "../../../providers/host/wire";
import { EDGE_CONNECTION, EDGE_STATE } from "./edge";

const { check, diff } = implementation;

const connection = EDGE_CONNECTION;
const inputs = (over: Partial<ProbeInputs> = {}): ProbeInputs => ({
  connection,
  command: "systemd-detect-virt --json",
  triggers: ["sha256:aa"],
  ...over,
});
const state = (): ProbeOutputs => ({
  ...inputs(),
  ...EDGE_STATE,
  result: {},
});

describe("HostProbe check() and diff() (no SSH)", () => {
  it("defaults triggers to none and requires a command", async () => {
    const ok = await check({}, { connection, command: "true" });
    assert.deepEqual(ok.inputs, { connection, command: "true", triggers: [] });
    const bad = await check({}, { connection, command: " ", triggers: ["a", 1] });
    assert.deepEqual(bad.failures, [
      { property: "command", reason: "must not be empty" },
      { property: "triggers[1]", reason: "must be a string" },
    ]);
  });

  it("runs again when the command or a trigger changes, not otherwise", async () => {
    assert.deepEqual(await diff("id", state(), inputs()), { changes: false, replaces: [] });
    assert.equal((await diff("id", state(), inputs({ command: "uname -r" }))).changes, true);
    assert.equal((await diff("id", state(), inputs({ triggers: ["sha256:bb"] }))).changes, true);
    assert.deepEqual(await diff("id", state(), inputs({ triggers: [UNKNOWN] })), { changes: true });
  });

  it("runs again after a refresh found the command missing on the host (rebuilt)", async () => {
    const missing = {
      ...state(),
      missing: "okome-host-report is missing on okome-edge: probe again",
    };
    assert.equal((await diff("id", missing, inputs())).changes, true);
  });

  it("another host name replaces", async () => {
    const other = inputs({ connection: { ...connection, name: "okome-model" } });
    assert.deepEqual((await diff("id", state(), other)).replaces, ["connection"]);
  });
});

describe("HostProbe output", () => {
  it("parses stdout as JSON", () => {
    const res = { code: 0, stdout: '{"virt":"qemu","rebootRequired":false}\n', stderr: "" };
    assert.deepEqual(parseProbe("okome-edge", "probe", res), {
      virt: "qemu",
      rebootRequired: false,
    });
  });

  it("a non-zero exit names the host, the command and its stderr", () => {
    const res = { code: 3, stdout: "", stderr: "probe: /run/okome missing\n" };
    assert.throws(() => parseProbe("okome-edge", "okome-facts", res), {
      message: "okome-edge: probe `okome-facts` exited 3: probe: /run/okome missing",
    });
  });

  it("output that is not JSON names the host and shows what it printed", () => {
    const res = { code: 0, stdout: "qemu\n", stderr: "" };
    assert.throws(
      () => parseProbe("okome-edge", "systemd-detect-virt", res),
      /^Error: okome-edge: probe `systemd-detect-virt` did not print JSON \([^]*\); it printed "qemu\\n"$/,
    );
    assert.throws(
      () => parseProbe("okome-edge", "true", { code: 0, stdout: "", stderr: "" }),
      /did not print JSON \([^]*\); it printed nothing$/,
    );
  });

  it("refuses an answer too large for state", () => {
    const res = { code: 0, stdout: JSON.stringify("x".repeat(70_000)), stderr: "" };
    assert.throws(() => parseProbe("okome-edge", "cat big", res), /more than 65536 bytes/);
  });
});
