import * as fs from "node:fs";
import * as path from "node:path";
import Mustache from "mustache";
import type { ManagedFile } from "../providers";

/** The repository's assets/ directory (templates and host scripts). */
export const ASSETS_DIR = path.join(__dirname, "..", "assets");

/**
 * Renders `assets/templates/<relPath>` with `view`. Config files are not HTML: values are
 * inserted verbatim, so callers validate them (no newlines, no quotes) before rendering.
 */
export function renderTemplate(relPath: string, view: object): string {
  const template = fs.readFileSync(path.join(ASSETS_DIR, "templates", relPath), "utf8");
  return Mustache.render(template, view, {}, { escape: (s: string) => s });
}

/** The content of a host script, `assets/scripts/<name>`. */
export function readScript(name: string): string {
  return fs.readFileSync(path.join(ASSETS_DIR, "scripts", name), "utf8");
}

/**
 * A library of host scripts as a managed file: `assets/lib/<asset>` installed at `path`, which
 * the scripts find at ../lib/ from their own directory, as in the repo.
 */
export function hostLibrary(target: string, asset: string): ManagedFile {
  const content = fs.readFileSync(path.join(ASSETS_DIR, "lib", asset), "utf8");
  return { path: target, content, mode: "0644" };
}

/** A host script as a managed file: `assets/scripts/<asset>` installed at `path`, executable. */
export function hostScript(path: string, asset: string): ManagedFile {
  return { path, content: readScript(asset), mode: "0755" };
}
