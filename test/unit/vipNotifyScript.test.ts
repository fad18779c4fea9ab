import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runScript } from "../support/runScript";

// okome-vip-notify, run for real as keepalived's notify would run it, on temp dirs: logger is a
// fake first on PATH that records its arguments, one call a line.
const NOTIFY = path.join(__dirname, "..", "..", "assets", "scripts", "okome-vip-notify.sh");
const NODE = "okome-edge";
const VIP = "10.86.0.18";
const INSTANCE = "okome_vip";
const LABEL = `{node="${NODE}",vrrp_instance="${INSTANCE}"}`;

const LOGGER = `#!/usr/bin/env bash
echo "$*" >>"$OKOME_FAKE_DIR/logger.calls"
`;

const STATE_CODES = { BACKUP: 0, MASTER: 1, FAULT: 2, STOP: 3 } as const;
type State = keyof typeof STATE_CODES;

/** The whole metrics file for these values. */
function metrics(state: State, transitions: number, since: number): string {
  return `# HELP okome_vip_master 1 while this node is the VRRP MASTER (holds the VIP), else 0.
# TYPE okome_vip_master gauge
okome_vip_master${LABEL} ${state === "MASTER" ? 1 : 0}
# HELP okome_vip_state The VRRP state keepalived last notified: 0 BACKUP, 1 MASTER, 2 FAULT, 3 STOP.
# TYPE okome_vip_state gauge
okome_vip_state${LABEL} ${STATE_CODES[state]}
# HELP okome_vip_transitions_total VRRP state changes notified (the first one, from none, included).
# TYPE okome_vip_transitions_total counter
okome_vip_transitions_total${LABEL} ${transitions}
# HELP okome_vip_last_change_timestamp_seconds When the VRRP state last changed.
# TYPE okome_vip_last_change_timestamp_seconds gauge
okome_vip_last_change_timestamp_seconds${LABEL} ${since}
`;
}

const seconds = () => Math.floor(Date.now() / 1000);

describe("okome-vip-notify", function () {
  this.timeout(20_000);
  let dir: string;
  const at = (p: string) => path.join(dir, p);
  const envFile = () => at("vip.env");
  const prom = () => fs.readFileSync(at("textfile/okome_vip.prom"), "utf8");
  const record = () => fs.readFileSync(at("state/state"), "utf8");
  /** What was logged since the last `journal()`. */
  const journal = () => {
    const log = at("fake/logger.calls");
    if (!fs.existsSync(log)) return [];
    const lines = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
    fs.rmSync(log);
    return lines;
  };
  /** The time of the last change, as written, after checking it is within [from, now]. */
  const since = (from: number) => {
    const value = Number(
      /^okome_vip_last_change_timestamp_seconds\{.*\} (\d+)$/m.exec(prom())?.[1],
    );
    assert.ok(value >= from && value <= seconds(), `last change ${value}, not since ${from}`);
    return value;
  };

  const writeEnv = (settings: Record<string, string> = {}) =>
    fs.writeFileSync(
      envFile(),
      Object.entries({
        OKOME_NODE: NODE,
        OKOME_VIP: VIP,
        OKOME_STATE_DIR: at("state"),
        OKOME_TEXTFILE_DIR: at("textfile"),
        ...settings,
      })
        .map(([key, value]) => `${key}=${value}\n`)
        .join(""),
    );
  const env = () => ({
    PATH: `${at("bin")}:${process.env.PATH}`,
    HOME: dir,
    OKOME_FAKE_DIR: at("fake"),
    OKOME_VIP_ENV: envFile(),
  });
  const notify = (...args: string[]) => runScript(NOTIFY, args, env());
  /** keepalived's call for the instance entering `state`, which must succeed. */
  const enter = async (state: State, priority = 150) => {
    const r = await notify("INSTANCE", INSTANCE, state, String(priority));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    return r;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-vip-notify-"));
    fs.mkdirSync(at("bin"));
    fs.mkdirSync(at("fake"));
    fs.writeFileSync(at("bin/logger"), LOGGER, { mode: 0o755 });
    writeEnv();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts the first notification (from none) as a transition, and journals one line", async () => {
    const before = seconds();
    const r = await enter("BACKUP", 100);
    const line = `${NODE}: none -> BACKUP (instance ${INSTANCE}, priority 100, VIP ${VIP})`;
    assert.deepEqual(journal(), [`-t okome-vip -- ${line}`]);
    assert.equal(r.out, `okome-vip: ${line}\n`);
    const changed = since(before);
    assert.equal(prom(), metrics("BACKUP", 1, changed));
    assert.equal(record(), `state=BACKUP\ntransitions=1\nsince=${changed}\n`);
    assert.deepEqual(fs.readdirSync(at("textfile")), ["okome_vip.prom"], "no temp file left");
    assert.deepEqual(fs.readdirSync(at("state")).sort(), ["lock", "state"], "no temp file left");
  });

  it("BACKUP -> MASTER counts a transition, sets master and the time of the change", async () => {
    // The record as a boot finds it: a state from long ago.
    fs.mkdirSync(at("state"));
    fs.writeFileSync(at("state/state"), "state=BACKUP\ntransitions=7\nsince=1700000000\n");
    await enter("BACKUP");
    assert.equal(prom(), metrics("BACKUP", 7, 1700000000), "the same state changes nothing");
    journal();

    const before = seconds();
    await enter("MASTER");
    const changed = since(before);
    assert.equal(prom(), metrics("MASTER", 8, changed));
    assert.equal(record(), `state=MASTER\ntransitions=8\nsince=${changed}\n`);
    assert.deepEqual(journal(), [
      `-t okome-vip -- ${NODE}: BACKUP -> MASTER (instance ${INSTANCE}, priority 150, VIP ${VIP})`,
    ]);
  });

  it("MASTER again (keepalived repeats itself, e.g. on a reload) rewrites the metrics but counts nothing", async () => {
    await enter("BACKUP");
    await enter("MASTER");
    const changed = since(0);
    journal();
    // The metrics file is rewritten even when it was lost, but the record stays as it was.
    fs.rmSync(at("textfile/okome_vip.prom"));
    const recorded = fs.statSync(at("state/state")).mtimeMs;
    const r = await enter("MASTER", 100);
    assert.equal(prom(), metrics("MASTER", 2, changed));
    assert.equal(fs.statSync(at("state/state")).mtimeMs, recorded, "the record is not rewritten");
    const line = `${NODE}: still MASTER (instance ${INSTANCE}, priority 100, VIP ${VIP})`;
    assert.deepEqual(journal(), [`-t okome-vip -- ${line}`]);
    assert.equal(r.out, `okome-vip: ${line}\n`);
  });

  it("maps FAULT to 2 and STOP to 3, master 0, each a transition; a boot after STOP counts again", async () => {
    await enter("MASTER");
    for (const [state, transitions] of [
      ["FAULT", 2],
      ["STOP", 3],
      ["BACKUP", 4],
    ] as const) {
      const before = seconds();
      await enter(state);
      assert.equal(prom(), metrics(state, transitions, since(before)), state);
    }
    assert.deepEqual(
      journal().map((call) => call.replace(/ \(.*\)$/, "")),
      [
        `-t okome-vip -- ${NODE}: none -> MASTER`,
        `-t okome-vip -- ${NODE}: MASTER -> FAULT`,
        `-t okome-vip -- ${NODE}: FAULT -> STOP`,
        `-t okome-vip -- ${NODE}: STOP -> BACKUP`,
      ],
    );
  });

  it("takes a sync group's notification (priority 0) the same way", async () => {
    const r = await notify("GROUP", "okome_group", "MASTER", "0");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(journal(), [
      `-t okome-vip -- ${NODE}: none -> MASTER (group okome_group, priority 0, VIP ${VIP})`,
    ]);
    assert.match(prom(), /^okome_vip_master\{node="okome-edge",vrrp_instance="okome_group"\} 1$/m);
  });

  it("serialises notifications that run side by side: never a half-written file, each change counted once", async () => {
    await enter("BACKUP");
    const runs = await Promise.all(
      Array.from({ length: 12 }, () => notify("INSTANCE", INSTANCE, "MASTER", "150")),
    );
    for (const r of runs) assert.equal(r.code, 0, r.err);
    assert.equal(prom(), metrics("MASTER", 2, since(0)));
    const lines = journal();
    assert.equal(lines.length, 13);
    assert.equal(lines.filter((line) => line.includes(": BACKUP -> MASTER (")).length, 1);
    assert.equal(lines.filter((line) => line.includes(": still MASTER (")).length, 11);
    assert.deepEqual(fs.readdirSync(at("textfile")), ["okome_vip.prom"], "no temp file left");
    assert.deepEqual(fs.readdirSync(at("state")).sort(), ["lock", "state"], "no temp file left");
  });

  it("waits for a notification that holds the lock, and gives up after 5 s, journaling why", async () => {
    fs.mkdirSync(at("state"));
    const hold = async (s: number) => {
      const holder = spawn("flock", [at("state/lock"), "-c", `echo locked; sleep ${s}`], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const released = new Promise((resolve) => holder.once("close", resolve));
      await new Promise((resolve) => holder.stdout.once("data", resolve));
      // In an object: an async function returning the promise itself would wait for it.
      return { released };
    };

    let { released } = await hold(1);
    let r = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(r.code, 0, r.err);
    assert.ok(r.ms >= 800, `took ${r.ms} ms: it did not wait`);
    await released;
    journal();

    ({ released } = await hold(6));
    r = await notify("INSTANCE", INSTANCE, "BACKUP", "150");
    assert.equal(r.code, 1);
    assert.ok(r.ms >= 4800 && r.ms < 6500, `took ${r.ms} ms`);
    const message = `okome-vip-notify: ${NODE}: another notification has held ${at("state/lock")} for 5 s; BACKUP of ${INSTANCE} not recorded`;
    assert.equal(r.err, `${message}\n`);
    assert.deepEqual(journal(), [`-t okome-vip -p user.err -- ${message}`]);
    assert.match(record(), /^state=MASTER$/m);
    await released;
  });

  it("names every wrong setting and the env file, journals them, and records nothing", async () => {
    writeEnv({
      OKOME_NODE: "'okome edge'",
      OKOME_VIP: "10.86.0.256",
      OKOME_STATE_DIR: "state",
      OKOME_TEXTFILE_DIR: "",
    });
    const r = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(r.code, 1);
    const env = envFile();
    const messages = [
      `okome-vip-notify: ${env}: OKOME_NODE='okome edge' is not a node name`,
      `okome-vip-notify: ${env}: OKOME_VIP='10.86.0.256' is not an IPv4 address`,
      `okome-vip-notify: ${env}: OKOME_STATE_DIR='state' is not an absolute path`,
      `okome-vip-notify: ${env}: OKOME_TEXTFILE_DIR='' is not an absolute path`,
    ];
    assert.deepEqual(r.err.trim().split("\n"), messages);
    assert.equal(r.out, "");
    assert.deepEqual(
      journal(),
      messages.map((message) => `-t okome-vip -p user.err -- ${message}`),
    );
    assert.ok(!fs.existsSync(at("textfile")), "no metrics");

    writeEnv({ OKOME_NODE: `'okome"edge'` });
    const bad = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(bad.code, 1);
    assert.equal(bad.err, `okome-vip-notify: ${env}: OKOME_NODE='okome"edge' is not a node name\n`);
    assert.ok(!fs.existsSync(at("state")), "nothing recorded");

    // An unmatched quote: bash's own message, then which file.
    writeEnv({ OKOME_NODE: 'okome"edge' });
    journal();
    const broken = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(broken.code, 1);
    assert.match(broken.err, /unexpected EOF/);
    assert.match(broken.err, new RegExp(`okome-vip-notify: ${env} does not parse as settings\n$`));
    assert.deepEqual(journal(), [
      `-t okome-vip -p user.err -- okome-vip-notify: ${env} does not parse as settings`,
    ]);

    fs.rmSync(env);
    const missing = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(missing.code, 1);
    assert.equal(missing.err, `okome-vip-notify: cannot read ${env}\n`);
  });

  it("exits 2 with the usage on any other arguments, journaled, before reading the settings", async () => {
    fs.rmSync(envFile());
    const usage =
      "okome-vip-notify: usage: okome-vip-notify INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP PRIORITY";
    for (const args of [
      [],
      ["INSTANCE", INSTANCE, "MASTER"],
      ["INSTANCE", INSTANCE, "MASTER", "150", "extra"],
      ["instance", INSTANCE, "MASTER", "150"],
      ["INSTANCE", INSTANCE, "master", "150"],
      // Only with notify_deleted, which the VIP pair does not set.
      ["INSTANCE", INSTANCE, "DELETED", "150"],
      ["INSTANCE", INSTANCE, "{UNKNOWN}", "150"],
      ["INSTANCE", 'okome"vip', "MASTER", "150"],
      ["INSTANCE", INSTANCE, "MASTER", "high"],
    ]) {
      const r = await notify(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.err, `okome-vip-notify: bad arguments: ${args.join(" ")}\n${usage}\n`);
      assert.equal(r.out, "");
      assert.deepEqual(journal(), [
        `-t okome-vip -p user.err -- okome-vip-notify: bad arguments: ${args.join(" ")}`,
        `-t okome-vip -p user.err -- ${usage}`,
      ]);
    }
    assert.ok(!fs.existsSync(at("state")), "nothing recorded");
  });

  it("journals a failed write and exits 1", async () => {
    // A file where the textfile directory should be.
    fs.writeFileSync(at("textfile"), "");
    const r = await notify("INSTANCE", INSTANCE, "MASTER", "150");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /okome-vip-notify: okome-edge: MASTER of okome_vip: line \d+ failed \(exit 1\)\n$/,
    );
    assert.match(
      journal().join("\n"),
      /^-t okome-vip -p user\.err -- okome-vip-notify: okome-edge: MASTER of okome_vip: line \d+ failed/,
    );
  });
});
