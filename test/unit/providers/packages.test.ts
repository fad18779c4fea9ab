import { strict as assert } from "node:assert";
import {
  DEBIAN_PACKAGE_NAME,
  installCommand,
  installFailedError,
  missingPackages,
  notInstalledError,
  parseQuery,
  queryCommand,
  stillMissingError,
} from "../../../providers/packages/dpkg";
import { implementation } from "../../../providers/packages/impl";
import { packagesToInstall } from "../../../providers/packages/validate";
import { PackageInputs, PackageOutputs } from "../../../providers/packages/wire";
import { SECRET_SIG, UNKNOWN } from "../../../providers/host/wire";
import { EDGE_CONNECTION, EDGE_STATE } from "./edge";

const { check, diff } = implementation;

const connection = EDGE_CONNECTION;
const inputs = (over: Partial<PackageInputs> = {}): PackageInputs => ({
  connection,
  packages: ["nginx", "redis-server"],
  install: false,
  ...over,
});
const state = (over: Partial<PackageOutputs> = {}): PackageOutputs => ({
  ...inputs(),
  ...EDGE_STATE,
  installed: { nginx: "1.22.1-9", "redis-server": "5:7.0.15-1" },
  ...over,
});

describe("PackageBaseline: names (Debian policy 5.6.1)", () => {
  it("accepts real package names", () => {
    for (const name of ["nginx", "libstdc++6", "python3.11", "g++", "0ad", "node-exporter"])
      assert.match(name, DEBIAN_PACKAGE_NAME, name);
  });

  it("refuses upper case, one letter, a leading sign, spaces, globs, arch qualifiers", () => {
    for (const name of [
      "Nginx",
      "x",
      "-rf",
      "+x",
      "a b",
      "nginx*",
      "ngin?",
      "libc6:arm64",
      "a_b",
      "",
    ])
      assert.doesNotMatch(name, DEBIAN_PACKAGE_NAME, name);
  });
});

describe("PackageBaseline check() (no SSH)", () => {
  it("sorts and deduplicates the list and applies the connection's default port", async () => {
    const { port: _p, ...noPort } = connection;
    void _p;
    const r = await check(
      {},
      { connection: noPort, packages: ["redis-server", "nginx", "redis-server"], install: true },
    );
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs, {
      connection,
      packages: ["nginx", "redis-server"],
      install: true,
    });
  });

  it("fails naming the property and the bad name, every problem at once", async () => {
    const r = await check(
      {},
      { connection, packages: ["nginx", "Redis_Server", 7], install: "yes" },
    );
    assert.deepEqual(r.failures, [
      {
        property: "packages[1]",
        reason:
          '"Redis_Server" is not a Debian package name (lower case letters, digits, + - and ., at least two characters, starting with a letter or digit)',
      },
      { property: "packages[2]", reason: "must be a string" },
      { property: "install", reason: "must be true or false" },
    ]);
  });

  it("refuses an empty list (dpkg-query with no names would list every package)", async () => {
    const r = await check({}, { connection, packages: [], install: false });
    assert.deepEqual(r.failures, [
      { property: "packages", reason: "must list at least one package" },
    ]);
  });

  it("checks the connection like every host provider", async () => {
    const r = await check(
      {},
      { connection: { ...connection, user: "Bad User" }, packages: ["nginx"], install: false },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["connection.user"],
    );
  });

  it("keeps an inline deploy key secret in state", async () => {
    const { privateKeyPath: _k, ...noPath } = connection;
    void _k;
    const r = await check(
      {},
      { connection: { ...noPath, privateKey: "KEY" }, packages: ["nginx"], install: false },
    );
    const conn = (r.inputs as PackageInputs).connection as unknown as Record<string, unknown>;
    assert.deepEqual(conn.privateKey, {
      [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270",
      value: "KEY",
    });
  });

  it("lets values unknown at preview through", async () => {
    const r = await check({}, { connection, packages: ["nginx", UNKNOWN], install: UNKNOWN });
    assert.equal(r.failures, undefined);
    assert.deepEqual((r.inputs as PackageInputs).packages, ["nginx", UNKNOWN]);
  });
});

describe("PackageBaseline diff() (from state alone)", () => {
  it("no change when every declared package is installed", async () => {
    assert.deepEqual(await diff("id", state(), inputs()), { changes: false, replaces: [] });
  });

  it("a declared package missing from state's installed is a change, and is named", async () => {
    const news = inputs({ packages: ["chrony", "nginx", "redis-server"] });
    assert.equal((await diff("id", state(), news)).changes, true);
    assert.deepEqual(packagesToInstall(state(), news), ["chrony"]);
  });

  it("a package a refresh found removed by hand is a change", async () => {
    const refreshed = state({ installed: { nginx: "1.22.1-9" } });
    assert.equal((await diff("id", refreshed, inputs())).changes, true);
    assert.deepEqual(packagesToInstall(refreshed, inputs()), ["redis-server"]);
  });

  it("dropping a package from the list changes nothing (packages are never removed)", async () => {
    assert.equal((await diff("id", state(), inputs({ packages: ["nginx"] }))).changes, false);
  });

  it("install and the connection are changes; another host name replaces", async () => {
    assert.equal((await diff("id", state(), inputs({ install: true }))).changes, true);
    const moved = inputs({ connection: { ...connection, address: "10.86.0.21" } });
    assert.deepEqual(await diff("id", state(), moved), { changes: true, replaces: [] });
    const other = inputs({ connection: { ...connection, name: "okome-model" } });
    assert.deepEqual(await diff("id", state(), other), { changes: true, replaces: ["connection"] });
  });

  it("says 'changes' while values are unknown (preview)", async () => {
    assert.deepEqual(await diff("id", state(), inputs({ packages: UNKNOWN as never })), {
      changes: true,
    });
  });
});

describe("PackageBaseline dpkg-query and apt-get", () => {
  it("queries the declared names with one dpkg-query, without root", () => {
    assert.equal(
      queryCommand(["dpkg", "nginx"]),
      "LC_ALL=C dpkg-query -W -f='${Package}\\t${db:Status-Status}\\t${Version}\\n' dpkg nginx",
    );
  });

  it("installs only the named packages, non-interactively, waiting for apt's lock; updates the lists only if that fails", () => {
    const install =
      "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 chrony";
    assert.equal(
      installCommand(["chrony"]),
      `sh -c '${install} || { echo "updating the package lists, then trying again" >&2; ` +
        `apt-get update -q -o DPkg::Lock::Timeout=300 && ${install}; }'`,
    );
  });

  it("reads installed packages; removed, config-files and half-installed count as missing", () => {
    const stdout = [
      "nginx\tinstalled\t1.22.1-9",
      "chrony\tconfig-files\t4.3-2",
      "fail2ban\tnot-installed\t",
      "redis-server\thalf-installed\t5:7.0.15-1",
      "man-db\ttriggers-pending\t2.11.2-2",
      "",
    ].join("\n");
    const installed = parseQuery("okome-edge", { code: 0, stdout, stderr: "" });
    assert.deepEqual(installed, { nginx: "1.22.1-9", "man-db": "2.11.2-2" });
    assert.deepEqual(missingPackages(["chrony", "man-db", "nginx", "zz"], installed), [
      "chrony",
      "zz",
    ]);
  });

  it("a package of two architectures counts once, installed if either is", () => {
    const stdout = "libc6\tinstalled\t2.36-9\nlibc6\tnot-installed\t\n";
    assert.deepEqual(parseQuery("h", { code: 0, stdout, stderr: "" }), { libc6: "2.36-9" });
  });

  it("exit 1 (a name dpkg does not know) is an answer: that package is missing", () => {
    const res = {
      code: 1,
      stdout: "dpkg\tinstalled\t1.21.22\n",
      stderr: "dpkg-query: no packages found matching okome-nonexistent\n",
    };
    assert.deepEqual(parseQuery("okome-edge", res), { dpkg: "1.21.22" });
  });

  it("any other failure names the host and dpkg-query's own words", () => {
    assert.throws(
      () =>
        parseQuery("okome-edge", {
          code: 2,
          stdout: "",
          stderr: "dpkg-query: error: database locked\n",
        }),
      {
        message:
          "okome-edge: dpkg-query could not read the package database: dpkg-query: error: database locked",
      },
    );
    assert.throws(
      () => parseQuery("okome-edge", { code: 0, stdout: "garbage\n", stderr: "" }),
      /^Error: okome-edge: dpkg-query printed a line that is not name\/status\/version: garbage$/,
    );
  });

  it("with install false, the error names the host, each package and the stack key to set", () => {
    assert.equal(
      notInstalledError("okome-edge", ["foo", "bar"], "okome-cache:installPackages").message,
      "okome-edge: packages not installed: foo, bar. This stack does not install packages (okome-cache:installPackages is false): bake them into the image, or set okome-cache:installPackages true",
    );
    assert.match(
      notInstalledError("okome-edge", ["foo"]).message,
      /\(install is false\).*set install true$/,
    );
  });

  it("a failed apt-get carries apt's words and, when it cannot find a package, the fix", () => {
    const e = installFailedError("okome-edge", ["chrony"], {
      code: 100,
      stdout: "Reading package lists...\n",
      stderr: "E: Unable to locate package chrony\n",
    });
    assert.match(
      e.message,
      /^okome-edge: apt-get install chrony exited 100:\nE: Unable to locate package chrony\n/,
    );
    assert.match(e.message, /apt-get update/);
    const held = stillMissingError("okome-edge", ["chrony"]);
    assert.match(
      held.message,
      /^okome-edge: apt-get install succeeded but dpkg still does not list as installed: chrony/,
    );
  });
});
