import { strict as assert } from "node:assert";
import { CliWorld, EXIT, runCli } from "../validate/cli";
import { JsonReport } from "../validate/report";
import { ValidationModule, stringOutput } from "../validate/runner";

/** The suite's command line on fake modules; what it printed, and which probes ran. */
class FakeWorld implements CliWorld {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly probed: string[] = [];
  readonly files: Record<string, string> = {};
  readonly stacks: Record<string, unknown> = {};
  readonly modules: ValidationModule[];

  constructor(modules: (world: FakeWorld) => ValidationModule[]) {
    this.modules = modules(this);
  }
  stackOutputs = async (stack: string) => {
    if (!(stack in this.stacks)) throw new Error(`no stack named '${stack}' found`);
    return this.stacks[stack];
  };
  readText = async (file: string) => {
    if (!(file in this.files)) throw new Error(`ENOENT: ${file}`);
    return this.files[file];
  };
  out = (line: string) => void this.stdout.push(line);
  err = (line: string) => void this.stderr.push(line);
}

/** A module whose checks pass or fail as named; `writes` marks the one that writes. */
const fakeModule = (
  world: FakeWorld,
  name: string,
  checks: { name: string; fails?: boolean; writes?: string }[],
): ValidationModule => ({
  name,
  async run(_outputs, check) {
    for (const c of checks)
      await check(
        c.name,
        async () => {
          world.probed.push(`${name}: ${c.name}`);
          if (c.fails) throw new Error(`${c.name} is broken\nsecond line`);
        },
        c.writes === undefined ? {} : { writes: c.writes },
      );
  },
});

/** Two modules that pass, one check of the second writing a test key; stack `lab` has outputs. */
function tier(failing = false): FakeWorld {
  const world = new FakeWorld((w) => [
    fakeModule(w, "alpha", [{ name: "one" }, { name: "two", fails: failing }]),
    fakeModule(w, "beta", [{ name: "three" }, { name: "key", writes: "a test key" }]),
  ]);
  world.stacks.lab = { address: "10.86.0.19" };
  return world;
}

describe("validation suite: command line", () => {
  it("groups the report by module: a header, the module's lines, its counts; then the totals", async () => {
    const world = tier(true);
    assert.equal(await runCli(["--stack", "lab", "--active"], world), EXIT.failed);
    assert.deepEqual(world.stdout, [
      "== alpha",
      "PASS alpha: one",
      "FAIL alpha: two: two is broken",
      "-- alpha: 1 passed, 1 failed",
      "== beta",
      "PASS beta: three",
      "PASS beta: key",
      "-- beta: 2 passed, 0 failed",
      "3 passed, 1 failed",
    ]);
    assert.deepEqual(world.stderr, []);
  });

  it("exits 0 when every check passes", async () => {
    const world = tier();
    assert.equal(await runCli(["--stack", "lab", "--active"], world), EXIT.passed);
    assert.equal(world.stdout.at(-1), "4 passed, 0 failed");
  });

  it("runs a check that writes only with --active, and lists it as not run without", async () => {
    const world = tier();
    assert.equal(await runCli(["--stack", "lab"], world), EXIT.passed);
    assert.ok(!world.probed.includes("beta: key"), "the writing probe did not run");
    assert.deepEqual(world.probed, ["alpha: one", "alpha: two", "beta: three"]);
    assert.ok(
      world.stdout.includes("---- beta: key: not run: needs --active (writes a test key)"),
      world.stdout.join("\n"),
    );
    assert.ok(world.stdout.includes("-- beta: 1 passed, 0 failed, 1 not run"));
    assert.deepEqual(world.stdout.slice(-2), [
      "3 passed, 0 failed",
      "1 not run: they write; run with --active to include them",
    ]);

    const active = tier();
    await runCli(["--stack", "lab", "--active"], active);
    assert.ok(active.probed.includes("beta: key"));
  });

  it("--json prints one document with modules, checks, outcomes, reasons and totals, and nothing else", async () => {
    const world = tier(true);
    assert.equal(await runCli(["--stack", "lab", "--json"], world), EXIT.failed);
    assert.equal(world.stdout.length, 1, "one write to stdout");
    const report = JSON.parse(world.stdout[0]) as JsonReport;
    assert.deepEqual(report, {
      ok: false,
      active: false,
      totals: { passed: 2, failed: 1, notRun: 1 },
      modules: [
        {
          name: "alpha",
          ok: false,
          totals: { passed: 1, failed: 1, notRun: 0 },
          checks: [
            { name: "one", outcome: "pass" },
            { name: "two", outcome: "fail", reason: "two is broken" },
          ],
        },
        {
          name: "beta",
          ok: true,
          totals: { passed: 1, failed: 0, notRun: 1 },
          checks: [
            { name: "three", outcome: "pass" },
            { name: "key", outcome: "not run", writes: "a test key" },
          ],
        },
      ],
    });
  });

  it("fails, not skips, a module whose stack output is missing", async () => {
    const world = new FakeWorld(() => [
      {
        name: "needs-vip",
        async run(outputs, check) {
          const vip = stringOutput(outputs, "vipPairSummary");
          await check(`${vip} answers`, async () => undefined);
        },
      },
    ]);
    world.stacks.lab = {};
    assert.equal(await runCli(["--stack", "lab"], world), EXIT.failed);
    assert.deepEqual(world.stdout, [
      "== needs-vip",
      "FAIL needs-vip: could not run: stack output vipPairSummary is missing or not a string",
      "-- needs-vip: 0 passed, 1 failed",
      "0 passed, 1 failed",
    ]);
  });

  it("--only runs the named modules alone", async () => {
    const world = tier(true);
    assert.equal(await runCli(["--stack", "lab", "--only", "beta"], world), EXIT.passed);
    assert.deepEqual(world.probed, ["beta: three"]);
    assert.equal(world.stdout[0], "== beta");
  });

  it("--outputs takes the outputs from a file, or from stdin with -", async () => {
    for (const source of ["outputs.json", "-"]) {
      const world = tier();
      world.files[source] = JSON.stringify({ address: "10.86.0.19" });
      assert.equal(await runCli(["--outputs", source], world), EXIT.passed, source);
      assert.equal(world.stdout.at(-2), "3 passed, 0 failed");
    }
  });

  it("exits 2 with the usage, running no check, when the suite cannot start", async () => {
    const cases: [string[], RegExp][] = [
      [[], /give exactly one of --stack and --outputs/],
      [["--stack", "lab", "--outputs", "-"], /give exactly one of --stack and --outputs/],
      [["--stack", "lab", "--bogus"], /Unknown option '--bogus'/],
      [["--stack", "lab", "--only", "gamma"], /unknown module gamma/],
      [["--outputs", "missing.json"], /cannot read the outputs from missing\.json: ENOENT/],
      [["--outputs", "-"], /cannot read the outputs from stdin/],
      [["--outputs", "list.json"], /the stack outputs must be a JSON object/],
      [["--stack", "gone"], /no stack named 'gone' found/],
    ];
    for (const [argv, message] of cases) {
      const world = tier();
      world.files["list.json"] = "[1, 2]";
      assert.equal(await runCli(argv, world), EXIT.usage, argv.join(" "));
      assert.match(world.stderr[0], message, argv.join(" "));
      assert.deepEqual(world.probed, [], argv.join(" "));
      assert.deepEqual(world.stdout, [], argv.join(" "));
    }
  });
});
