import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  MODEL_CACHE_PATHS,
  ORCHESTRATOR_USER,
  RESERVED_USERS,
  ModelCacheSpec,
} from "../../components/modelCache";
import { REDIS } from "../../components/platform";
import { ModelCacheServer } from "../support/modelCacheServer";

// The host scripts against a real redis-server running the rendered files (paths moved to a
// temp dir). The restart path needs systemd and is covered by the lab test.
describe("model cache: host scripts (okome-redis-server-candidate, okome-redis-apply)", function () {
  this.timeout(60_000);
  let server: ModelCacheServer;
  let spec: ModelCacheSpec;

  const run = (script: string, ...args: string[]) => {
    const r = spawnSync(path.join(server.dir, "sbin", script), args, {
      env: server.scriptEnv(),
      encoding: "utf8",
    });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const app = (port = server.port, password = server.passwords[ORCHESTRATOR_USER.name]) => {
    const c = server.client(undefined, port);
    return c.connect().then(async () => {
      await c.call("AUTH", ORCHESTRATOR_USER.name, password);
      return c;
    });
  };
  const configGet = async (name: string) => {
    const admin = server.client(RESERVED_USERS.admin);
    await admin.connect();
    const [, value] = (await admin.call("CONFIG", "GET", name)) as string[];
    admin.disconnect();
    return value;
  };

  beforeEach(async () => {
    server = await ModelCacheServer.start({
      hostMemory: "1gb",
      maxmemory: "256mb",
      exporter: false,
    });
    spec = server.spec;
  });
  afterEach(() => server?.dispose());

  describe("okome-redis-server-candidate", () => {
    it("accepts the rendered files", () => {
      const r = run("okome-redis-server-candidate");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /redis-server accepts/);
    });

    it("refuses a bad directive with Redis's own message", () => {
      fs.appendFileSync(server.local(REDIS.configFile), "maxmemory-polcy allkeys-lru\n");
      const r = run("okome-redis-server-candidate");
      assert.equal(r.code, 1);
      assert.match(r.err, /Bad directive or wrong number of arguments/);
      assert.match(r.err, /maxmemory-polcy/);
    });

    it("refuses a bad size", () => {
      fs.appendFileSync(server.local(REDIS.configFile), "maxmemory 4xb\n");
      assert.match(run("okome-redis-server-candidate").err, /argument must be a memory value/);
    });

    it("refuses an ACL rule Redis rejects", () => {
      fs.appendFileSync(server.local(REDIS.aclFile), "user broken on +no-such-command\n");
      const r = run("okome-redis-server-candidate");
      assert.equal(r.code, 1);
      assert.match(r.err, /Unknown command or category name in ACL/);
    });

    it("refuses a bind address this host does not have", () => {
      const conf = server.local(REDIS.configFile);
      fs.writeFileSync(
        conf,
        fs.readFileSync(conf, "utf8").replace(/^bind .*$/m, "bind 127.0.0.1 10.86.0.77"),
      );
      const r = run("okome-redis-server-candidate");
      assert.equal(r.code, 1);
      assert.match(r.err, /bind address 10\.86\.0\.77 .* is not configured on this host/);
    });

    it("accepts the Debian redis.conf a destroy puts back, which has no users to log in as", () => {
      fs.copyFileSync("/etc/redis/redis.conf", server.local(REDIS.configFile));
      fs.chmodSync(server.local(REDIS.configFile), 0o644); // the redis user reads it, as on a host
      const r = run("okome-redis-server-candidate");
      assert.equal(r.code, 0, r.err);
    });

    it("refuses an admin secret that does not match users.acl", () => {
      fs.writeFileSync(server.local("/etc/okome/secrets/redis-admin"), "wrong");
      assert.match(run("okome-redis-server-candidate").err, /cannot log in .* disagree/);
    });
  });

  describe("okome-redis-restart (systemctl faked: test/support/fake-systemctl.sh)", () => {
    let fakeBin: string;
    const restart = (refuseLine = "", ...args: string[]) => {
      const r = spawnSync(path.join(server.dir, "sbin", "okome-redis-restart"), args, {
        env: {
          ...server.scriptEnv(),
          PATH: `${fakeBin}:${process.env.PATH}`,
          OKOME_TEST_REFUSE_LINE: refuseLine,
        },
        encoding: "utf8",
      });
      return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    const conf = () => fs.readFileSync(server.local(REDIS.configFile), "utf8");
    before(() => {
      fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "okome-fake-systemctl-"));
      fs.symlinkSync(
        path.join(__dirname, "..", "support", "fake-systemctl.sh"),
        path.join(fakeBin, "systemctl"),
      );
    });
    after(() => fs.rmSync(fakeBin, { recursive: true, force: true }));

    it("restarts onto a new restart-only setting; --check then passes", async () => {
      server.install({ ...spec, extraOptions: { "io-threads": "2" } });
      assert.equal(run("okome-redis-apply").code, 0);
      assert.equal(restart("", "--check").code, 1, "a restart is pending");
      const r = restart();
      assert.equal(r.code, 0, r.err);
      assert.equal(await configGet("io-threads"), "2");
      assert.deepEqual(restart("", "--check"), { code: 0, out: "", err: "" });
    });

    it("when the new setting does not start, brings Redis back on the previous value and fails saying so", async () => {
      server.install({ ...spec, extraOptions: { "io-threads": "3" } });
      assert.equal(run("okome-redis-apply").code, 0);
      const r = restart("io-threads 3");
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /did not start with io-threads 3 .*runs again with the previous io-threads 1, now in/,
      );
      assert.equal(await configGet("io-threads"), "1", "Redis runs, on the previous value");
      assert.match(conf(), /^io-threads 1$/m);
      assert.doesNotMatch(conf(), /^io-threads 3$/m);
      // The set's verification refuses to record a restart that did not happen.
      assert.match(restart("", "--check").err, /are not those of .*redis-restart-settings/);
      // What the rollback does next: the activation again, which finds nothing to restart.
      const again = restart("io-threads 3");
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /not restarting/);
      assert.equal(await configGet("io-threads"), "1");
    });
  });

  describe("okome-redis-apply", () => {
    it("does not compare a config file that is not okome-cache's", () => {
      fs.copyFileSync("/etc/redis/redis.conf", server.local(REDIS.configFile));
      const r = run("okome-redis-apply", "--check");
      assert.equal(r.code, 1);
      assert.match(r.err, /is not okome-cache's/);
    });

    it("--check writes nothing, not even the accepted admin secret", () => {
      const accepted = server.local(MODEL_CACHE_PATHS.adminAcceptedSecret);
      server.install({ ...spec, maxmemory: "300mb" });
      const r = run("okome-redis-apply", "--check");
      assert.equal(r.out, "live maxmemory");
      assert.equal(fs.existsSync(accepted), false, `${accepted} was written`);
      assert.equal(run("okome-redis-apply").code, 0);
      assert.equal(fs.existsSync(accepted), true, "an apply records it");
    });

    it("does nothing when the server already matches", () => {
      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /already matches/);
      assert.deepEqual(run("okome-redis-apply", "--check"), { code: 0, out: "", err: "" });
    });

    it("applies a new maxmemory live: same process, keys kept", async () => {
      const c = await app();
      await c.set("okome:kept", "yes");
      const pid = server.pid;
      server.install({ ...spec, maxmemory: "300mb" });

      const before = run("okome-redis-apply", "--check");
      assert.equal(before.code, 1);
      assert.equal(before.out, "live maxmemory");

      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /maxmemory: '268435456' -> '314572800'/);
      assert.equal(await configGet("maxmemory"), String(300 * 1024 * 1024));
      assert.equal(server.pid, pid);
      assert.equal(await c.get("okome:kept"), "yes", "the client's connection and key survive");
      assert.equal(run("okome-redis-apply", "--check").code, 0);
      c.disconnect();
    });

    it("moves the port live: the server answers on the new one with its keys", async () => {
      const c = await app();
      await c.set("okome:kept", "yes");
      const newPort = server.port + 1;
      server.install({ ...spec, port: newPort });
      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /port: '\d+' -> '\d+'/);
      const moved = await app(newPort);
      assert.equal(await moved.get("okome:kept"), "yes");
      moved.disconnect();
      c.disconnect();
    });

    it("reloads users only when they change, and a new password works at once", async () => {
      const passwords = {
        ...server.passwords,
        [ORCHESTRATOR_USER.name]: "a-new-password-for-okome",
      };
      server.install(spec, passwords);
      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /users reloaded/);
      const c = await app(server.port, "a-new-password-for-okome");
      assert.equal(await c.ping(), "PONG");
      c.disconnect();
      await assert.rejects(app(), /WRONGPASS/);
      assert.doesNotMatch(run("okome-redis-apply").out, /users reloaded/);
    });

    it("after an admin password change, logs in with the one accepted last: users reloaded, no restart", async () => {
      assert.equal(run("okome-redis-apply").code, 0, "records the secret the server accepts");
      const c = await app();
      await c.set("okome:kept", "yes");
      const pid = server.pid;
      const passwords = { ...server.passwords, [RESERVED_USERS.admin]: "a-new-admin-password" };
      server.install(spec, passwords);

      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /the admin password changed: users reloaded/);
      assert.equal(server.pid, pid);
      c.disconnect(); // ACL LOAD closed it: clients reconnect, the data stays
      const again = await app();
      assert.equal(await again.get("okome:kept"), "yes");
      again.disconnect();
      const admin = server.client();
      await admin.connect();
      assert.equal(await admin.call("AUTH", RESERVED_USERS.admin, "a-new-admin-password"), "OK");
      admin.disconnect();
    });

    it("refuses to guess when neither the new nor the last accepted admin secret logs in", () => {
      server.install(spec, { ...server.passwords, [RESERVED_USERS.admin]: "unknown-to-redis" });
      const r = run("okome-redis-apply");
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot log in .* nor with the last accepted secret/);
    });

    it("leaves a restart-only setting to okome-redis-restart, and says so", () => {
      server.install({
        ...spec,
        extraOptions: { "io-threads": "2", "lazyfree-lazy-eviction": "yes" },
      });
      const r = run("okome-redis-apply");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /lazyfree-lazy-eviction: 'no' -> 'yes'/);
      assert.match(r.out, /io-threads needs a restart \('1' -> '2'\)/);
      assert.deepEqual(run("okome-redis-apply", "--check"), {
        code: 0,
        out: "restart io-threads",
        err: "",
      });
    });

    it("changes nothing when Redis refuses part of it", async () => {
      // A port another process holds: the candidate (no TCP) accepts it, the live CONFIG SET cannot.
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const port = (taken.address() as net.AddressInfo).port;
      try {
        server.install({ ...spec, port, maxmemory: "300mb" });
        const r = run("okome-redis-apply");
        assert.equal(r.code, 1);
        assert.match(r.err, /CONFIG SET refused, nothing changed/);
        assert.equal(await configGet("maxmemory"), String(256 * 1024 * 1024));
      } finally {
        taken.close();
      }
    });
  });
});
