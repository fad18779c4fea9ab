/** PR CI's preview workflow, .github/workflows/preview.yml, as data. */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

export const PREVIEW_WORKFLOW = path.resolve(__dirname, "../../.github/workflows/preview.yml");

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
}

export interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

/** Parsed with js-yaml (YAML 1.2: `on` stays a key, where YAML 1.1 reads it as true). */
export function readPreviewWorkflow(): Workflow {
  return load(fs.readFileSync(PREVIEW_WORKFLOW, "utf8"), {
    filename: PREVIEW_WORKFLOW,
  }) as Workflow;
}

/** The preview step (id `preview`) of the workflow's one job. */
export function previewStep(workflow = readPreviewWorkflow()): Step {
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const step = steps.find((s) => s.id === "preview");
  if (!step) throw new Error(`${PREVIEW_WORKFLOW}: no step with id: preview`);
  return step;
}

/** The preview command as the workflow runs it ($PREVIEW, unquoted: split at spaces). */
export function previewCommand(workflow = readPreviewWorkflow()): string[] {
  const command = previewStep(workflow).env?.PREVIEW;
  if (!command) throw new Error(`${PREVIEW_WORKFLOW}: the preview step sets no env PREVIEW`);
  return command.trim().split(/\s+/);
}
