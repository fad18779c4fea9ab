/**
 * README "Recovery: a Pi replaced from the golden image", on the lab edge with the real
 * `pulumi`: the host answers with a new host key and none of the managed config. The run
 * fails naming both fingerprints until the new key is pinned; then up records the pin without
 * touching the host, refresh reads what the new host holds, and up puts the config back.
 * The edge's own host key is restored afterwards. Needs the lab; nothing is skipped.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fingerprint, parseHostKey } from "../../providers/ssh/hostKeys";
import { LabHost, onHost, requireLabHost } from "../support/lab";
import { PulumiStack, RunResult } from "../support/pulumiStack";
import { fixtureStack, siteBody } from "./configSetFixture";

const SITE = "/etc/nginx/sites-enabled/okome-fixture-replaced";
const KEY = "/etc/ssh/ssh_host_ed25519_key";

describe("a replaced host (README: Recovery), on the lab edge (real pulumi)", function () {
  this.timeout(600_000);
  let edge: LabHost;
  /** The edge once it answers with its new key (a known_hosts of the test's own). */
  let replaced: LabHost | undefined;
  let stack: PulumiStack | undefined;
  const host = (cmd: string) => onHost(replaced ?? edge, cmd);
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const hostKeyLine = () => host(`cat ${KEY}.pub`).split(" ").slice(0, 2).join(" ");
  const fp = (line: string) => fingerprint(parseHostKey(line)!);

  before(async () => {
    edge = await requireLabHost("okome-edge");
    // The edge's real key, kept aside so the lab's known_hosts stays right after this test.
    host(
      `sudo -n sh -c 'cp -p ${KEY} /var/lib/okome-saved-host-key && cp -p ${KEY}.pub /var/lib/okome-saved-host-key.pub'`,
    );
  });
  after(async () => {
    if (stack) {
      const d = await stack.dispose();
      assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
    }
    host(
      `sudo -n sh -c 'cp -p /var/lib/okome-saved-host-key ${KEY} && cp -p /var/lib/okome-saved-host-key.pub ${KEY}.pub && rm -f /var/lib/okome-saved-host-key* && systemctl restart ssh'`,
    );
    if (replaced)
      fs.rmSync(path.dirname(replaced.knownHostsFile), { recursive: true, force: true });
  });

  it("fails naming both keys, then pin -> up -> refresh -> up brings the config back", async () => {
    const oldKey = hostKeyLine();
    stack = await fixtureStack(edge, {
      FIXTURE_HOST_KEY: oldKey,
      FIXTURE_SITE_NAME: "okome-fixture-replaced",
      FIXTURE_PORT: "8096",
    });
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(await siteBody(edge, 8096), "200 okome-fixture-ok v1\n");

    // The new card: a host key of its own, none of our config. The new key is read over the
    // old session, as an operator reads it on the Pi's console.
    const newKey = host(
      `sudo -n sh -c 'rm -f ${SITE} ${KEY} ${KEY}.pub && ssh-keygen -q -t ed25519 -N "" -f ${KEY} && systemctl reload nginx && cat ${KEY}.pub && systemctl restart ssh'`,
    )
      .trim()
      .split(" ")
      .slice(0, 2)
      .join(" ");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-replaced-"));
    fs.writeFileSync(path.join(dir, "known_hosts"), `${edge.address} ${newKey}\n`);
    replaced = { ...edge, knownHostsFile: path.join(dir, "known_hosts") };
    assert.notEqual(fp(newKey), fp(oldKey));

    const refused = await stack.run(["refresh", "--yes"]);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.output,
      new RegExp(
        `host key mismatch: expected ${fp(oldKey).replace(/[+/]/g, "\\$&")} \\(ssh-ed25519\\)`,
      ),
    );
    assert.match(refused.output, new RegExp(`got ${fp(newKey).replace(/[+/]/g, "\\$&")}`));

    // Pin the key compared on the console; up records the pin and touches nothing.
    stack.env.FIXTURE_HOST_KEY = newKey;
    const pinned = await stack.run(["up", "--yes", "--skip-preview"]);
    ok(pinned);
    assert.deepEqual(pinned.connections, {}, "recording the pin opens no session");
    const refreshed = await stack.run(["refresh", "--yes"]);
    ok(refreshed);
    assert.ok(refreshed.connections[edge.name] >= 1, "the refresh logged in with the new pin");
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(await siteBody(edge, 8096), "200 okome-fixture-ok v1\n");
  });
});
