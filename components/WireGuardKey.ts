import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** A WireGuard key pair as `wg genkey | wg pubkey` writes it: base64 of 32 raw bytes each. */
export interface WireGuardKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/**
 * A fresh x25519 key pair in WireGuard's text form. JWK is the one export of node:crypto that
 * gives the raw 32-byte keys (`d` private, `x` public, base64url); WireGuard wants base64.
 */
export function newWireGuardKeyPair(): WireGuardKeyPair {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string")
    throw new Error("node:crypto exported an x25519 JWK without d or x");
  return {
    privateKey: Buffer.from(jwk.d, "base64url").toString("base64"),
    publicKey: Buffer.from(jwk.x, "base64url").toString("base64"),
  };
}

// Runs in the dynamic provider process, from serialized code: no module state, nothing but
// node:crypto (newWireGuardKeyPair is serialized with it).
const provider: pulumi.dynamic.ResourceProvider = {
  async create() {
    return { id: randomBytes(8).toString("hex"), outs: newWireGuardKeyPair() };
  },
  // No inputs: nothing can change, so a key pair is only ever replaced by deleting the resource.
  async diff() {
    return { changes: false };
  },
};

/**
 * A WireGuard key pair generated once, at create: the private key is a Pulumi secret (encrypted
 * in state, shown as [secret]), the public key is not. `pulumi preview` shows both as unknown
 * until created. To rotate, replace the resource (`pulumi up --replace <urn>`).
 */
export class WireGuardKey extends pulumi.dynamic.Resource {
  /** The private key, base64 (WireGuard's `PrivateKey =`); a secret output. */
  declare readonly privateKey: pulumi.Output<string>;
  /** The public key, base64 (WireGuard's `PublicKey =`). */
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { privateKey: undefined, publicKey: undefined },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
      "okome",
      "WireGuardKey",
    );
  }
}
