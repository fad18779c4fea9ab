import { strict as assert } from "node:assert";
import {
  deadmanMinimumSeconds,
  modeProblem,
  pathProblem,
  validateInputs,
  withDefaults,
} from "../../../providers/configSet/validate";
import { UNKNOWN } from "../../../providers/host/wire";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoninMJaKR1zFJcE+Et4bNYaqIB8Y4mowg8qHCBZJX4";

const valid = () => ({
  connection: {
    name: "okome-edge",
    address: "10.86.0.20",
    user: "okome",
    privateKeyPath: "~/.okome/lab/keys/id_ed25519",
    hostKey: KEY,
  },
  kind: "nginx",
  service: "nginx",
  files: { "/etc/nginx/sites-enabled/okome": { content: "server {}\n" } } as Record<
    string,
    unknown
  >,
  validate: "nginx -t",
  activate: "systemctl reload nginx",
});

const paths = (raw: Record<string, unknown>) => validateInputs(raw).map((i) => i.path);

describe("config set input validation (check)", () => {
  it("accepts a plain nginx set and applies every default in one place", () => {
    assert.deepEqual(validateInputs(valid()), []);
    const w = withDefaults(valid());
    assert.equal(w.connection.port, 22);
    assert.deepEqual(w.files["/etc/nginx/sites-enabled/okome"], {
      content: "server {}\n",
      mode: "0644",
      owner: "root",
      group: "root",
      secret: false,
      dirMode: "0755",
    });
    assert.equal(w.stepTimeoutSeconds, 60);
    assert.deepEqual(w.userWritableDirs, []);
  });

  it("reports every problem at once, each naming its field", () => {
    const raw = {
      ...valid(),
      connection: {
        name: "okome edge",
        address: "",
        user: "Bad User",
        port: 70000,
        privateKeyPath: "relative/key",
        privateKey: "x",
        hostKey: "ssh-ed25519 nope",
      },
      service: "Nginx!",
      files: {
        "etc/relative": { content: "x" },
        "/etc/a/../b": { content: "x" },
        "/etc/ok": { content: "x", mode: "0666", owner: "ro ot", group: "wheel;rm" },
        "/etc/suid": { content: "x", mode: "4755" },
        "/etc/number": { content: "x", mode: 644 },
      },
      activate: "  ",
      deadman: { timeoutSeconds: 5 },
    };
    assert.deepEqual(paths(raw).sort(), [
      "activate",
      "connection.address",
      "connection.hostKey",
      "connection.name",
      "connection.port",
      "connection.privateKeyPath",
      "connection.privateKeyPath",
      "connection.user",
      "deadman.timeoutSeconds",
      'files["/etc/a/../b"]',
      'files["/etc/number"].mode',
      'files["/etc/ok"].group',
      'files["/etc/ok"].mode',
      'files["/etc/ok"].owner',
      'files["/etc/suid"].mode',
      'files["etc/relative"]',
      "service",
    ]);
  });

  it("reports duplicate paths found when the list became a map", () => {
    const raw = {
      ...valid(),
      listIssues: [{ path: "files[2].path", reason: "duplicates files[0].path (/etc/x)" }],
    };
    assert.deepEqual(validateInputs(raw), [
      { path: "files[2].path", reason: "duplicates files[0].path (/etc/x)" },
    ]);
  });

  it("requires a set to have files and an activate command", () => {
    const { activate: _a, ...noActivate } = valid();
    void _a;
    assert.deepEqual(paths({ ...noActivate, files: {} }), ["files", "activate"]);
  });

  it("requires the kind's own validator for services that can take the host down", () => {
    const { validate: _v, ...noValidate } = valid();
    void _v;
    assert.deepEqual(validateInputs(noValidate), [
      {
        path: "validate",
        reason:
          'kind "nginx" must be validated with `nginx -t` before activation (a reload with a broken file stops the edge)',
      },
    ]);
    assert.deepEqual(paths({ ...valid(), validate: "true" }), ["validate"]);
    // Plain sets may go without one, whatever they are called, as long as they stay out of
    // the paths a kind owns.
    const elsewhere = { "/etc/okome/health.conf": { content: "x" } };
    assert.deepEqual(
      validateInputs({ ...noValidate, kind: "plain", service: "nginx", files: elsewhere }),
      [],
    );
  });

  it("keys the rules by the typed kind: a set named nginx-site cannot skip nginx -t", () => {
    const { validate: _v, ...noValidate } = valid();
    void _v;
    assert.deepEqual(validateInputs({ ...noValidate, kind: "plain", service: "nginx-site" }), [
      {
        path: 'files["/etc/nginx/sites-enabled/okome"]',
        reason:
          'is nginx config: only a set of kind "nginx" may write it (a reload with a broken file stops the edge)',
      },
    ]);
    assert.deepEqual(paths({ ...valid(), kind: "redis", validate: "x" }), [
      'files["/etc/nginx/sites-enabled/okome"]',
    ]);
    assert.deepEqual(
      paths({
        ...noValidate,
        kind: "plain",
        files: { "/etc/ssh/sshd_config.d/10-x.conf": { content: "x" } },
      }),
      ['files["/etc/ssh/sshd_config.d/10-x.conf"]'],
    );
    assert.deepEqual(paths({ ...valid(), kind: "Nginx" }), ["kind"]);
    const { kind: _k, ...noKind } = valid();
    void _k;
    assert.deepEqual(validateInputs(noKind)[0], {
      path: "kind",
      reason: "is required: one of plain, sshd, nftables, nginx, keepalived, redis",
    });
  });

  it("refuses a secret file that others could read", () => {
    const secret = (mode?: string) => ({
      ...valid(),
      files: { "/etc/nginx/pw": { content: "pw", secret: true, ...(mode && { mode }) } },
    });
    assert.deepEqual(validateInputs(secret("0640")), []);
    assert.deepEqual(validateInputs(secret("0604")), [
      {
        path: 'files["/etc/nginx/pw"].mode',
        reason: 'is 0604: a secret file must not be world-readable (e.g. "0600" or "0640")',
      },
    ]);
    // The default mode (0644) is world-readable.
    assert.deepEqual(paths(secret()), ['files["/etc/nginx/pw"].mode']);
  });

  it("accepts the stock tool behind options, and any validator for redis (a wrapper script)", () => {
    assert.deepEqual(validateInputs({ ...valid(), validate: "/usr/sbin/nginx -q -t" }), []);
    assert.deepEqual(
      validateInputs({
        ...valid(),
        kind: "redis",
        service: "redis",
        files: { "/etc/redis/redis.conf": { content: "x" } },
        validate: "/usr/local/sbin/okome-redis-candidate",
      }),
      [],
    );
    const { validate: _v, ...none } = valid();
    void _v;
    const redisFiles = { "/etc/redis/redis.conf": { content: "x" } };
    assert.deepEqual(paths({ ...none, kind: "redis", files: redisFiles }), ["validate"]);
    assert.deepEqual(paths({ ...valid(), service: "redis@x" }), ["service"]);
  });

  it("requires sshd -t and a dead-man switch for sshd, whose deadline covers a step and the confirmation login", () => {
    const sshd = {
      ...valid(),
      kind: "sshd",
      service: "sshd",
      files: { "/etc/ssh/sshd_config.d/10-okome.conf": { content: "x" } },
      validate: "true",
      activate: "systemctl reload ssh",
    };
    assert.deepEqual(paths(sshd), ["validate", "deadman"]);
    // 60 s step + 21 s for two 10 s connects and a 0.5 s backoff + 5 s margin.
    assert.equal(deadmanMinimumSeconds(60), 86);
    const timed = (timeoutSeconds: number, stepTimeoutSeconds?: number) =>
      validateInputs({
        ...sshd,
        validate: "sshd -t",
        deadman: { timeoutSeconds },
        ...(stepTimeoutSeconds !== undefined && { stepTimeoutSeconds }),
      });
    assert.deepEqual(timed(86), []);
    assert.deepEqual(timed(60), [
      {
        path: "deadman.timeoutSeconds",
        reason:
          "must be an integer from 86 to 3600 seconds: one step (stepTimeoutSeconds 60) plus the confirmation login must fit before it fires",
      },
    ]);
    assert.deepEqual(timed(40, 10), []);
    assert.deepEqual(
      timed(30, 10).map((i) => i.path),
      ["deadman.timeoutSeconds"],
    );
  });

  it("lets values that are unknown at preview through", () => {
    assert.deepEqual(
      validateInputs({ ...valid(), files: UNKNOWN, activate: UNKNOWN, connection: UNKNOWN }),
      [],
    );
    const w = withDefaults({ ...valid(), files: { "/etc/x": { content: UNKNOWN } } });
    assert.equal(w.files["/etc/x"].content, UNKNOWN);
  });

  it("path and mode rules", () => {
    assert.equal(pathProblem("/etc/nginx/nginx.conf"), undefined);
    assert.match(pathProblem("/etc/nginx/")!, /directory/);
    assert.match(pathProblem("/etc//x")!, /normalized/);
    assert.match(pathProblem("/etc/x\ny")!, /control/);
    assert.equal(modeProblem("640"), undefined);
    assert.equal(modeProblem("0600"), undefined);
    assert.match(modeProblem("0646")!, /world-writable/);
    assert.match(modeProblem("2644")!, /setgid/);
    assert.match(modeProblem("rw-r--r--")!, /octal/);
  });
});
