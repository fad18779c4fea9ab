import { strict as assert } from "node:assert";
import {
  modeProblem,
  pathProblem,
  validateInputs,
  withDefaults,
} from "../../../providers/configSet/validate";
import { UNKNOWN } from "../../../providers/configSet/wire";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOoninMJaKR1zFJcE+Et4bNYaqIB8Y4mowg8qHCBZJX4";

const valid = () => ({
  connection: {
    name: "okome-edge",
    address: "10.86.0.20",
    user: "okome",
    privateKeyPath: "~/.okome/lab/keys/id_ed25519",
    hostKey: KEY,
  },
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
    });
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

  it("requires the service's own validator for services that can take the host down", () => {
    const { validate: _v, ...noValidate } = valid();
    void _v;
    assert.deepEqual(validateInputs(noValidate), [
      {
        path: "validate",
        reason:
          'service "nginx" must be validated with `nginx -t` before activation (a reload with a broken file stops the edge)',
      },
    ]);
    assert.deepEqual(paths({ ...valid(), validate: "true" }), ["validate"]);
    // Unknown services may go without one.
    assert.deepEqual(validateInputs({ ...noValidate, service: "okome-health" }), []);
  });

  it("accepts the stock tool behind options, and any validator for redis (a wrapper script)", () => {
    assert.deepEqual(validateInputs({ ...valid(), validate: "/usr/sbin/nginx -q -t" }), []);
    assert.deepEqual(
      validateInputs({
        ...valid(),
        service: "redis",
        validate: "/usr/local/sbin/okome-redis-candidate",
      }),
      [],
    );
    const { validate: _v, ...none } = valid();
    void _v;
    assert.deepEqual(paths({ ...none, service: "redis" }), ["validate"]);
    assert.deepEqual(paths({ ...valid(), service: "redis@x" }), ["service"]);
  });

  it("requires sshd -t and a dead-man switch for sshd", () => {
    const sshd = {
      ...valid(),
      service: "sshd",
      validate: "true",
      activate: "systemctl reload ssh",
    };
    assert.deepEqual(paths(sshd), ["validate", "deadman"]);
    assert.deepEqual(
      validateInputs({ ...sshd, validate: "sshd -t", deadman: { timeoutSeconds: 60 } }),
      [],
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
