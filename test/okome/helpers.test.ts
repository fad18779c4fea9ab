import { strict as assert } from "node:assert";
import { freePort } from "../support/ports";
import { Worker } from "./helpers";

describe("test helpers: stampede Worker", function () {
  this.timeout(20_000);

  it("next() rejects as soon as the worker exits without the reply, instead of hanging", async () => {
    // Nothing listens on the port: the worker never gets ready, so "ready" can only come never.
    const worker = new Worker(await freePort());
    const waiting = worker.next("ready");
    const started = Date.now();
    worker.child.kill("SIGKILL");
    await assert.rejects(waiting, /worker \d+ exited before sending "ready"/);
    assert.ok(Date.now() - started < 5000, "rejected when the worker exited");
    await worker.stop();
  });
});
