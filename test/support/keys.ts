import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

/**
 * A fresh ed25519 key pair without a passphrase at `file` and `file.pub`, as ssh-keygen writes
 * it; returns the public line (`ssh-ed25519 AAAA... comment`).
 */
export function newKeyPair(file: string, comment?: string): string {
  const commentArgs = comment === undefined ? [] : ["-C", comment];
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", ...commentArgs, "-f", file]);
  return fs.readFileSync(`${file}.pub`, "utf8").trim();
}
