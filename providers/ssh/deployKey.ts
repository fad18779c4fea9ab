import { utils } from "ssh2";
import { HostKey, hostKeyFromBlob } from "./hostKeys";

/**
 * The public half of a deploy private key, as the SSH layer would load it (ssh2, no passphrase:
 * the providers offer none), or why it cannot be used.
 */
export function deployPublicKey(privateKey: Buffer): HostKey | Error {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) return parsed;
  if (!parsed.isPrivateKey()) return new Error("it is a public key, not a private one");
  return hostKeyFromBlob(parsed.getPublicSSH());
}
