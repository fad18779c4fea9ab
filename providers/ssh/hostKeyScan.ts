import { Client, ConnectConfig } from "ssh2";
import { HostKey, hostKeyFromBlob } from "./hostKeys";
import { SSH_DEFAULTS, SshTarget, sshLog } from "./session";

/**
 * Host-key algorithms a scan offers, ed25519 first: the server presents the first one it has,
 * and ed25519 is the key a Pi's console shows with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`.
 */
export const SCAN_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
] as const;

/** Any name: the handshake stops at the host key, before a user name is sent. */
const SCAN_USER = "okome-hostkeys";

/**
 * The host key `target` presents, fetched without trusting it: the verifier records the key and
 * refuses it, so the connection ends before any authentication and no credential is offered.
 */
export function scanHostKey(
  target: Pick<SshTarget, "name" | "address" | "port">,
  timeoutMs: number = SSH_DEFAULTS.connectTimeoutMs,
): Promise<HostKey> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: HostKey | undefined;
    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: SCAN_USER,
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: [...SCAN_HOST_KEY_ALGORITHMS] },
      hostVerifier: (blob: Buffer) => {
        presented = hostKeyFromBlob(blob);
        return false;
      },
    };
    sshLog("scan", target);
    client.once("error", (e: Error) => {
      client.end();
      if (presented) resolve(presented);
      else
        reject(
          new Error(
            `${target.name} (${target.address}:${target.port}): cannot fetch the host key: ${e.message}`,
          ),
        );
    });
    // A server that accepts the refused key would be a bug in ssh2: never proceed past the key.
    client.once("ready", () => {
      client.end();
      reject(new Error(`${target.name}: the handshake went past a refused host key`));
    });
    client.connect(config);
  });
}
