import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  MODEL_CACHE_DEFAULTS,
  ModelCacheSpec,
  modelCacheCommands,
  passwordSha256,
  readModelCacheStackKeys,
  renderModelCache,
  renderModelCacheSecrets,
  restartOnlyLines,
  validateModelCacheArgs,
} from "../../components/modelCache";
import { expectGolden } from "../support/golden";

const GOLDEN = path.join(__dirname, "golden", "model-cache");
const host = { name: "okome-model", address: "10.86.0.19" };
const lab: ModelCacheSpec = { host, hostMemory: "1gb", maxmemory: "256mb" };
const hashes = {
  "okome-admin": passwordSha256("admin-password"),
  "okome-monitor": passwordSha256("monitor-password"),
  "okome-health": passwordSha256("health-password"),
  okome: passwordSha256("okome-password"),
  planner: passwordSha256("planner-password"),
};

/** Compares with test/unit/golden/model-cache/<variant>/<file>; OKOME_UPDATE_GOLDEN=1 rewrites them. */
function golden(variant: string, spec: ModelCacheSpec): void {
  const files = renderModelCache(spec, hashes);
  for (const f of [...files.scripts, ...files.config, ...files.restart, ...files.exporter]) {
    if (f.path.startsWith("/usr/local/sbin/")) continue; // copied verbatim from assets/scripts
    expectGolden(path.join(GOLDEN, variant, path.basename(f.path)), f.content, f.path);
  }
}

describe("model cache: rendering", () => {
  it("renders the lab node (defaults but maxmemory) like the golden files", () => {
    golden("lab", lab);
  });

  it("renders persistence, extra options, a second user and the exporter off like the golden files", () => {
    golden("custom", {
      host,
      hostMemory: "8gb",
      bind: ["127.0.0.1", "10.86.0.50"],
      port: 6380,
      maxmemoryPolicy: "allkeys-lfu",
      persistence: true,
      users: [
        MODEL_CACHE_DEFAULTS.users[0],
        { name: "planner", keys: ["okome:planner:*"], channels: [], commands: ["+get", "+@read"] },
      ],
      exporter: false,
      extraOptions: { "lazyfree-lazy-eviction": "yes", "io-threads": "2" },
    });
  });

  it("applies the defaults: bind loopback + node address, port 6379, 4gb, allkeys-lru, no RDB, no AOF", () => {
    const conf = renderModelCache({ host, hostMemory: "8gb" }, hashes).config[0].content;
    for (const line of [
      "bind 127.0.0.1 10.86.0.19",
      "port 6379",
      "maxmemory 4gb",
      "maxmemory-policy allkeys-lru",
      'save ""',
      "appendonly no",
      "protected-mode yes",
    ]) {
      assert.match(conf, new RegExp(`^${line}$`, "m"), line);
    }
  });

  it("never puts a password in a non-secret file, only its sha256", () => {
    const files = renderModelCache(lab, hashes);
    const all = [...files.scripts, ...files.config, ...files.restart, ...files.exporter];
    for (const f of all) {
      assert.ok(!f.secret, `${f.path} is not secret`);
      assert.ok(!/(admin|monitor|okome)-password/.test(f.content), `${f.path} holds a password`);
    }
    const acl = all.find((f) => f.path === "/etc/redis/users.acl")!;
    assert.match(acl.content, new RegExp(`^user okome on #${hashes.okome} `, "m"));
    assert.match(acl.content, /^user default off /m);
  });

  it("puts the plaintext passwords only into secret, tightly-moded files", () => {
    const s = renderModelCacheSecrets(lab, {
      adminPassword: "a".repeat(43),
      monitorPassword: "m".repeat(43),
    });
    assert.deepEqual(
      [...s.config, ...s.exporter].map((f) => [
        f.path,
        f.mode,
        f.group ?? "root",
        f.dirMode,
        f.secret,
      ]),
      [
        // Root-only; the exporter (user prometheus) reads its own file from a dir of its own.
        ["/etc/okome/secrets/redis-admin", "0600", "root", "0700", true],
        ["/etc/okome/prometheus-secrets/redis-exporter.json", "0640", "prometheus", "0750", true],
      ],
    );
    assert.deepEqual(JSON.parse(s.exporter[0].content), {
      "redis://127.0.0.1:6379": "m".repeat(43),
    });
    const off = renderModelCacheSecrets(
      { ...lab, exporter: false },
      { adminPassword: "a", monitorPassword: "m" },
    );
    assert.deepEqual(off.exporter, []);
  });

  it("makes redis.conf and users.acl root's, readable by group redis, never the redis user's", () => {
    assert.deepEqual(
      renderModelCache(lab, hashes).config.map((f) => [f.path, f.owner, f.group, f.mode]),
      [
        ["/etc/redis/redis.conf", "root", "redis", "0640"],
        ["/etc/redis/users.acl", "root", "redis", "0640"],
      ],
    );
  });

  it("gives the admin exactly the host scripts' commands and no keys or channels", () => {
    const acl = renderModelCache(lab, hashes).config[1].content;
    assert.match(
      acl,
      /^user okome-admin on #\w+ resetkeys resetchannels -@all \+ping \+config\|get \+config\|set \+acl\|list \+acl\|load$/m,
    );
  });

  it("lists only restart-only settings in the restart set, so live changes leave it alone", () => {
    const restart = (s: ModelCacheSpec) => renderModelCache(s, hashes).restart[0].content;
    const base = restart(lab);
    for (const live of [
      { port: 6380 },
      { bind: ["127.0.0.1", "10.86.0.50"] },
      { maxmemory: "300mb" },
      { maxmemoryPolicy: "allkeys-lfu" as const },
      { persistence: true },
      { extraOptions: { "lazyfree-lazy-eviction": "yes" } },
    ]) {
      assert.equal(restart({ ...lab, ...live }), base, `${JSON.stringify(live)} must not restart`);
    }
    assert.notEqual(
      restart({ ...lab, extraOptions: { "io-threads": "2" } }),
      base,
      "io-threads restarts",
    );
    assert.deepEqual(restartOnlyLines("# c\nport 1\nio-threads 2\ndatabases 16\n"), [
      "io-threads 2",
      "databases 16",
    ]);
  });

  it("wires the candidate as validator, the live apply as activation and its --check as verification", () => {
    const c = modelCacheCommands(lab);
    assert.deepEqual(c.config, {
      validate: "/usr/local/sbin/okome-redis-server-candidate",
      activate: "/usr/local/sbin/okome-redis-apply",
      verify: "/usr/local/sbin/okome-redis-apply --check",
    });
    assert.deepEqual(c.restart, {
      activate: "/usr/local/sbin/okome-redis-restart",
      verify: "/usr/local/sbin/okome-redis-restart --check",
    });
    // Delete runs the activation after the script is gone: it must still succeed.
    assert.equal(
      c.scripts.activate,
      "if [ -x /usr/local/sbin/okome-redis-ownership ]; then /usr/local/sbin/okome-redis-ownership; fi",
    );
    assert.match(c.exporter.verify, /curl -fsS http:\/\/10\.86\.0\.19:9121\/metrics/);
    assert.equal(
      modelCacheCommands({ ...lab, exporter: false }).exporter.activate,
      "systemctl disable --now prometheus-redis-exporter",
    );
  });
});

describe("model cache: validation", () => {
  it("accepts the lab and prod settings", () => {
    assert.deepEqual(validateModelCacheArgs(lab), []);
    assert.deepEqual(validateModelCacheArgs({ host, hostMemory: "8gb" }), []);
  });

  it("reports every problem at once, each with its argument path", () => {
    const issues = validateModelCacheArgs({
      host: { name: "okome-model", address: "10.86.0.300" },
      hostMemory: "1gb",
      bind: ["127.0.0.1", "localhost", "0.0.0.0"],
      port: 70000,
      maxmemory: "4xb",
      maxmemoryPolicy: "lru" as never,
      users: [
        { name: "okome", keys: [], channels: ["okome:*"], commands: ["get", "+@read"] },
        { name: "okome-admin", keys: ["a b"], channels: [], commands: [] },
      ],
      exporterPort: 0,
      extraOptions: { port: "1", requirepass: "x", "io-threads": 'a"b' },
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "host.address",
        "bind[1]",
        "bind[2]",
        "port",
        "maxmemory",
        "maxmemoryPolicy",
        "users[0].keys",
        "users[0].commands[0]",
        "users[1].name",
        "users[1].keys[0]",
        "exporterPort",
        "extraOptions.port",
        "extraOptions.requirepass",
        "extraOptions.io-threads",
      ],
    );
    assert.match(issues.find((i) => i.path === "extraOptions.port")!.reason, /typed field `port`/);
  });

  it("refuses every setting that carries a secret in extraOptions, saying why", () => {
    const secret = ["requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"];
    const issues = validateModelCacheArgs({
      ...lab,
      extraOptions: Object.fromEntries(secret.map((name) => [name, "s3cret"])),
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      secret.map((name) => `extraOptions.${name}`),
    );
    for (const i of issues) assert.match(i.reason, /its value is a secret, .* Pulumi state/);
  });

  it("refuses the VIP in bind", () => {
    const issues = validateModelCacheArgs({
      ...lab,
      vip: "10.86.0.18",
      bind: ["127.0.0.1", "10.86.0.18"],
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["bind[1]"],
    );
    assert.match(issues[0].reason, /must not be the VIP \(10\.86\.0\.18\)/);
    assert.deepEqual(validateModelCacheArgs({ ...lab, vip: "10.86.0.18" }), []);
  });

  it("refuses a maxmemory that does not fit the host's memory", () => {
    const [issue] = validateModelCacheArgs({ ...lab, maxmemory: "1gb" });
    assert.equal(issue.path, "maxmemory");
    assert.match(issue.reason, /more than 75% of the host's 1gb of RAM/);
    assert.deepEqual(validateModelCacheArgs({ ...lab, maxmemory: "768mb" }), []);
    assert.equal(validateModelCacheArgs({ ...lab, maxmemory: "0" })[0].path, "maxmemory");
  });

  it("refuses duplicate and reserved user names", () => {
    const u = { keys: ["okome:*"], channels: [], commands: ["+get"] };
    const issues = validateModelCacheArgs({
      ...lab,
      users: [
        { name: "default", ...u },
        { name: "app", ...u },
        { name: "app", ...u },
      ],
    });
    assert.deepEqual(
      issues.map((i) => [i.path, /reserved|twice/.exec(i.reason)?.[0]]),
      [
        ["users[0].name", "reserved"],
        ["users[2].name", "twice"],
      ],
    );
  });
});

describe("model cache: stack config", () => {
  const raw = { modelAddress: "10.86.0.19", modelMemory: "1gb", redisMaxmemory: "256mb" };

  it("reads the lab settings into arguments", () => {
    const { args, issues } = readModelCacheStackKeys({
      ...raw,
      redisBind: '["127.0.0.1"]',
      redisPort: "6379",
      redisUser: "orch",
      redisExporter: "false",
    });
    assert.deepEqual(issues, []);
    assert.equal(args.maxmemory, "256mb");
    assert.equal(args.users?.[0].name, "orch");
    assert.equal(args.exporter, false);
    assert.deepEqual(args.bind, ["127.0.0.1"]);
  });

  it("names every bad key in full, all at once", () => {
    const { issues } = readModelCacheStackKeys({
      redisMaxmemory: "lots",
      redisMaxmemoryPolicy: "lru",
      redisPort: "six",
      redisBind: '["127.0.0.1", "10.86.0.999"]',
      redisUser: "Okome!",
      redisExporter: "yes",
      redisExtraOptions: '["io-threads", "include /etc/x"]',
      modelAddress: "10.86.0.999",
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "okome-cache:modelMemory",
        "okome-cache:redisPort",
        "okome-cache:redisExporter",
        "okome-cache:redisExtraOptions[0]",
        "okome-cache:redisBind[1]",
        "okome-cache:redisMaxmemory",
        "okome-cache:redisMaxmemoryPolicy",
        "okome-cache:redisUser",
        "okome-cache:redisExtraOptions[1]",
      ],
    );
  });

  it("names both indices of a redisExtraOptions name given twice", () => {
    const { issues } = readModelCacheStackKeys({
      ...raw,
      redisExtraOptions: '["io-threads 2", "lazyfree-lazy-eviction yes", "io-threads 4"]',
    });
    assert.deepEqual(issues, [
      {
        path: "okome-cache:redisExtraOptions[2]",
        reason:
          'sets "io-threads" again (also okome-cache:redisExtraOptions[0]): keep one of the two',
      },
    ]);
  });

  it("refuses the stack's VIP in redisBind, naming the key", () => {
    const { issues } = readModelCacheStackKeys({
      ...raw,
      vip: "10.86.0.18",
      redisBind: '["127.0.0.1", "10.86.0.18"]',
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:redisBind[1]"],
    );
    assert.match(issues[0].reason, /must not be the VIP/);
  });

  it("checks redisMaxmemory against modelMemory", () => {
    const { issues } = readModelCacheStackKeys({ ...raw, redisMaxmemory: "4gb" });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:redisMaxmemory"],
    );
    assert.match(issues[0].reason, /host's 1gb of RAM/);
  });
});
