import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import {
  PREVIEW_WORKFLOW,
  previewCommand,
  previewStep,
  readPreviewWorkflow,
} from "../support/previewWorkflow";

// PR CI's workflow, read as GitHub would: valid YAML, on pull requests, the toolchain as the
// README's prod section sets it up, the passphrase from a secret, nothing that reaches a Pi.
// test/preview/prod-preview.test.ts runs its preview command on a copy of the prod stack.
describe(".github/workflows/preview.yml", () => {
  const workflow = readPreviewWorkflow();
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const scripts = steps.map((s) => s.run ?? "").join("\n");

  it("runs on pull requests and may comment on them", () => {
    assert.ok("pull_request" in workflow.on, `on: ${JSON.stringify(workflow.on)}`);
    assert.equal(workflow.permissions["pull-requests"], "write");
  });

  it("previews the prod stack with its diff", () => {
    const command = previewCommand(workflow);
    assert.deepEqual(command.slice(0, 2), ["pulumi", "preview"]);
    assert.ok(command.includes("--diff"), command.join(" "));
    assert.match(command.join(" "), /(^| )-s prod( |$)/);
    assert.doesNotMatch(command.join(" "), /--refresh|\bup\b/, "a refresh would SSH to the Pis");
    assert.match(previewStep(workflow).run ?? "", /^\s*\$PREVIEW\b/m);
  });

  it("sets up the toolchain as README's prod section does", () => {
    const prepare = steps.findIndex((s) => s.run?.trim() === "bash scripts/lib/prepare.sh");
    const preview = steps.indexOf(previewStep(workflow));
    assert.ok(prepare >= 0 && prepare < preview, "bash scripts/lib/prepare.sh, before the preview");
    assert.match(previewStep(workflow).run ?? "", /^source scripts\/lib\/env\.sh$/m);
  });

  it("takes the passphrase from a secret and has no SSH", () => {
    const env = Object.values(workflow.jobs)[0].env ?? {};
    assert.equal(env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    const text = fs.readFileSync(PREVIEW_WORKFLOW, "utf8");
    assert.doesNotMatch(text, /PULUMI_CONFIG_PASSPHRASE:\s*[^$\s]/, "no passphrase in the file");
    assert.doesNotMatch(scripts, /\bssh|sshPrivateKey|okome_deploy/i);
    assert.doesNotMatch(text, /secrets\.\w*(SSH|KEY)\w*/i, "no key secret");
  });

  it("posts the preview as a PR comment, when it fails too", () => {
    const comment = steps.find((s) => s.uses?.startsWith("actions/github-script@"));
    assert.ok(comment, "an actions/github-script step");
    assert.match(comment.if ?? "", /always\(\)/);
    assert.ok(steps.indexOf(comment) > steps.indexOf(previewStep(workflow)));
  });
});
