import { strict as assert } from "node:assert";
import {
  fingerprint,
  hostKeyAlgorithms,
  knownHostKeys,
  parseHostKey,
  sameKey,
} from "../../../providers/ssh/hostKeys";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoninMJaKR1zFJcE+Et4bNYaqIB8Y4mowg8qHCBZJX4";
const OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQk4LCm2xhbPl9t3FjiT7IdQgjNIBDzB+A6IyH7qK4N";
// `ssh-keygen -H` of "10.86.0.20 <KEY>"
const HASHED = "|1|P8fDvbtcXDambnMt9iTtdS6wBts=|E5mtKK3qmYjtKnE5jyaLvkNE8os=";

describe("host keys", () => {
  it("parses a public key line, comment or not, and computes OpenSSH's fingerprint", () => {
    const k = parseHostKey(`${KEY} test@host`)!;
    assert.equal(k.type, "ssh-ed25519");
    assert.equal(fingerprint(k), "SHA256:PZnY26aYr3nDqPU1BnYAa22PaOHRx1FcYCHRmOkQaEs");
    assert.ok(sameKey(k, parseHostKey(KEY)!));
    assert.ok(!sameKey(k, parseHostKey(OTHER)!));
  });

  it("rejects lines that are not keys, including a blob whose type contradicts the prefix", () => {
    assert.equal(parseHostKey("ssh-ed25519"), undefined);
    assert.equal(parseHostKey("ssh-ed25519 not-base64!"), undefined);
    assert.equal(parseHostKey(KEY.replace("ssh-ed25519", "ssh-rsa")), undefined);
  });

  it("offers only the pinned key types (rsa pins accept the sha2 signatures)", () => {
    assert.deepEqual(hostKeyAlgorithms([parseHostKey(KEY)!]), ["ssh-ed25519"]);
    assert.deepEqual(hostKeyAlgorithms([{ type: "ssh-rsa", base64: "" }]), [
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
    ]);
  });

  describe("known_hosts lookup", () => {
    it("matches plain, hashed, comma lists and wildcards; port 22 is bare", () => {
      assert.equal(knownHostKeys(`10.86.0.20 ${KEY}`, "10.86.0.20", 22).keys.length, 1);
      assert.equal(knownHostKeys(`${HASHED} ${KEY}`, "10.86.0.20", 22).keys.length, 1);
      assert.equal(knownHostKeys(`${HASHED} ${KEY}`, "10.86.0.19", 22).keys.length, 0);
      assert.equal(knownHostKeys(`edge,10.86.0.20 ${KEY}`, "10.86.0.20", 22).keys.length, 1);
      assert.equal(knownHostKeys(`10.86.0.* ${KEY}`, "10.86.0.20", 22).keys.length, 1);
    });

    it("uses [host]:port for other ports", () => {
      const text = `[10.86.0.20]:2222 ${KEY}\n10.86.0.20 ${OTHER}`;
      const k2222 = knownHostKeys(text, "10.86.0.20", 2222).keys;
      assert.equal(k2222.length, 1);
      assert.equal(fingerprint(k2222[0]), "SHA256:PZnY26aYr3nDqPU1BnYAa22PaOHRx1FcYCHRmOkQaEs");
      assert.equal(knownHostKeys(text, "10.86.0.20", 22).keys.length, 1);
    });

    it("honours negation, @revoked, comments, and skips @cert-authority", () => {
      assert.equal(knownHostKeys(`10.86.0.*,!10.86.0.20 ${KEY}`, "10.86.0.20", 22).keys.length, 0);
      const r = knownHostKeys(
        `# pinned\n@revoked 10.86.0.20 ${OTHER}\n@cert-authority * ${OTHER}\n10.86.0.20 ${KEY}`,
        "10.86.0.20",
        22,
      );
      assert.equal(r.keys.length, 1);
      assert.equal(r.revoked.length, 1);
    });
  });
});
