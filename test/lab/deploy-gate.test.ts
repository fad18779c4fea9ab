/**
 * The deployment gate (issue 14): `pulumi up` ends with the validation suite, so an `up` whose
 * every config set applies cleanly still fails when the tier it leaves does not validate, naming
 * the failed check. The real `pulumi` deploys this project on a throw-away stack with
 * `validateAfterUp` on (test stacks have it off by default), then a rate limit that passes
 * `nginx -t` and the edge's own verify (loopback is always exempt) yet throttles this machine,
 * a client of the edge: 1 request per second, no burst, no exemption for 10.86.0.1. The suite's
 * "second GET is a cache hit" gets a 429. Needs `npm run lab:up`; without the lab every test
 * fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { LabHost, requireLabHost } from "../support/lab";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { get, mock, sh } from "./edgeLab";

const LIMITS = "/etc/nginx/okome/limits.conf";
/** The edge check the throttled edge fails: the first of its checks that GETs twice at once. */
const FAILED_CHECK =
  "FAIL edge: okome-edge: a second GET is a cache hit with the four headers and the client's request id: ";
/** How the command provider reports the gate's failure. */
const GATE_FAILED =
  'error: exit status 1: running "node_modules/.bin/tsx test/validate/index.ts --outputs - --active"';
const THROTTLE = { rateLimitExempt: "[]", uiRateLimit: "1", uiRateBurst: "0" };

describe("Deployment gate on the lab (real pulumi)", function () {
  this.timeout(900_000);
  let edge: LabHost;
  let stack: PulumiStack;
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const up = () => stack.run(["up", "--yes", "--skip-preview"]);

  before(async () => {
    edge = await requireLabHost("okome-edge");
    await requireLabHost("okome-model");
    await mock("/__mock/control", { mode: "ok" });
    stack = await PulumiStack.create({
      prefix: "gate",
      passphrase: "okome-deploy-gate-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
      validateAfterUp: true,
    });
  });
  after(async () => {
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
  });

  it("up deploys the tier and ends with the validation suite, which passes", async () => {
    const r = await up();
    ok(r);
    assert.match(r.output, /command:local:Command validate-after-up created/);
  });

  it("up with nothing changed does not run the suite again", async () => {
    const r = await stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
    ok(r);
    assert.doesNotMatch(r.output, /validate-after-up/);
  });

  it("a rate limit that throttles clients applies cleanly, yet up fails naming the edge check", async () => {
    for (const [key, value] of Object.entries(THROTTLE))
      ok(await stack.run(["config", "set", key, value]));
    const r = await up();
    assert.notEqual(r.code, 0, r.output);
    // Every config set applied: nginx runs the new limit, no transaction was rolled back.
    assert.match(sh(edge, `cat ${LIMITS}`), /zone=okome_ui:\S+ rate=1r\/s;/);
    assert.doesNotMatch(r.output, /The previous config was restored/);
    // The gate is what failed, and it names the check.
    assert.ok(r.output.includes(GATE_FAILED), r.output);
    assert.match(r.output, new RegExp(`^\\s*${FAILED_CHECK.replace(/[.*?()[\]]/g, "\\$&")}`, "m"));
    assert.match(r.output, /^\s*\d+ passed, [1-9]\d* failed$/m);
    // The behaviour the check saw: a second request at once is refused.
    await get(`http://${edge.address}/version`);
    assert.equal((await get(`http://${edge.address}/version`)).status, 429);
  });

  it("with the change reverted, up passes again and the suite passes on its own", async () => {
    ok(await stack.run(["config", "set", "rateLimitExempt", '["10.86.0.1"]']));
    for (const key of ["uiRateLimit", "uiRateBurst"]) ok(await stack.run(["config", "rm", key]));
    ok(await up());
    const r = await stack.validate();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^\d+ passed, 0 failed$/m);
  });
});
