import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { WireGuardKey, newWireGuardKeyPair } from "../../components/WireGuardKey";

/** An x25519 private key from its 32 raw bytes: the fixed PKCS#8 header of RFC 8410, then the key. */
const X25519_PKCS8_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a base64 private key, derived by OpenSSL (through node:crypto), base64. */
function publicKeyOf(privateKey: string): string {
  const der = Buffer.concat([X25519_PKCS8_HEADER, Buffer.from(privateKey, "base64")]);
  const key = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const jwk = crypto.createPublicKey(key).export({ format: "jwk" });
  return Buffer.from(jwk.x!, "base64url").toString("base64");
}

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));

describe("WireGuard keys", () => {
  it("makes x25519 pairs in WireGuard's form: base64 of 32 bytes each, the public key of the private one", () => {
    const pair = newWireGuardKeyPair();
    for (const key of [pair.privateKey, pair.publicKey]) {
      assert.match(key, /^[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(key, "base64").length, 32);
    }
    assert.equal(publicKeyOf(pair.privateKey), pair.publicKey);
  });

  it("makes a new pair each time", () => {
    const keys = new Set(Array.from({ length: 8 }, () => newWireGuardKeyPair().privateKey));
    assert.equal(keys.size, 8);
  });

  it("agrees on a shared secret with another pair (what a WireGuard handshake relies on)", () => {
    const [left, right] = [newWireGuardKeyPair(), newWireGuardKeyPair()];
    const privateOf = (key: string) =>
      crypto.createPrivateKey({
        key: Buffer.concat([X25519_PKCS8_HEADER, Buffer.from(key, "base64")]),
        format: "der",
        type: "pkcs8",
      });
    const publicOf = (key: string) =>
      crypto.createPublicKey({
        key: { kty: "OKP", crv: "X25519", x: Buffer.from(key, "base64").toString("base64url") },
        format: "jwk",
      });
    const secret = (own: string, other: string) =>
      crypto.diffieHellman({ privateKey: privateOf(own), publicKey: publicOf(other) });
    assert.deepEqual(
      secret(left.privateKey, right.publicKey),
      secret(right.privateKey, left.publicKey),
    );
  });

  describe("the resource (under Pulumi mocks)", () => {
    let registered: { type: string; inputs: Record<string, unknown> }[];
    before(() =>
      pulumi.runtime.setMocks(
        {
          newResource: (args) => {
            registered.push({ type: args.type, inputs: args.inputs });
            return { id: "key-id", state: { ...args.inputs, ...newWireGuardKeyPair() } };
          },
          call: () => ({}),
        },
        "okome-cache",
        "unit",
        false,
      ),
    );
    beforeEach(() => (registered = []));

    // Mocks do not apply additionalSecretOutputs; test/loopback/wireguard.test.ts reads the state of
    // a real engine run.
    it("is a dynamic okome:WireGuardKey that asks for its private key, and only that, to be secret", async () => {
      let secretOutputs: unknown;
      const key = new WireGuardKey("node-wireguard-key", {
        transformations: [
          (t) =>
            void (secretOutputs = (t.opts as pulumi.CustomResourceOptions).additionalSecretOutputs),
        ],
      });
      const [privateKey, publicKey] = await Promise.all([
        value(key.privateKey),
        value(key.publicKey),
      ]);
      assert.equal(registered[0].type, "pulumi-nodejs:dynamic/okome:WireGuardKey");
      assert.deepEqual(secretOutputs, ["privateKey"]);
      assert.equal(publicKeyOf(privateKey), publicKey);
    });
  });
});
