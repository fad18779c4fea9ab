/**
 * PackageBaseline's install path for real, on the lab edge: apt-get installs a package the
 * test builds (dpkg-deb on the host) and serves from a local `file:` repository on the host,
 * so apt never reaches a mirror and lab traffic never leaves the machine. Also a package
 * removed by hand, seen by a refresh and installed again. Runs the provider's real
 * implementation over its own SSH session. Needs `npm run lab:up`; fails without it.
 * Leaves the host as it found it: package purged, repo and source removed, lists cleaned.
 */
import { strict as assert } from "node:assert";
import { closePool } from "../../providers/ssh/pool";
import { implementation as packages } from "../../providers/packages/impl";
import { PackageInputs, PackageOutputs } from "../../providers/packages/wire";
import { LabHost, onHost, requireLabHost } from "../support/lab";

const PKG = "okome-test-pkg";
const VERSION = "1.0-1";
const REPO_DIR = "/var/tmp/okome-test-repo";
const SOURCE = "/etc/apt/sources.list.d/okome-test.list";
const MARKER = `/usr/share/${PKG}/marker`;
/**
 * `apt-get update` of the sources in list file $1 only (an empty parts dir hides the host's
 * Debian sources, so no mirror is ever fetched); lists of other sources are dropped.
 */
const UPDATE_ONLY = `update_only() {
  parts=$(mktemp -d)
  sudo -n apt-get update -q -o Dir::Etc::sourcelist="$1" -o Dir::Etc::sourceparts="$parts" >/dev/null
  rmdir "$parts"
}`;

/** Builds the .deb and a hand-written Packages index (the image has no dpkg-scanpackages). */
const BUILD_REPO = `set -eu
${UPDATE_ONLY}
rm -rf ${REPO_DIR}; mkdir -p ${REPO_DIR}/build/DEBIAN ${REPO_DIR}/build/usr/share/${PKG}
echo okome > ${REPO_DIR}/build${MARKER}
cat > ${REPO_DIR}/build/DEBIAN/control <<'CONTROL'
Package: ${PKG}
Version: ${VERSION}
Architecture: all
Maintainer: okome-cache tests <okome@localhost>
Description: okome-cache lab test package
 Installed and purged by test/lab/packages.test.ts.
CONTROL
dpkg-deb --root-owner-group --build ${REPO_DIR}/build ${REPO_DIR}/${PKG}_${VERSION}_all.deb >/dev/null
rm -rf ${REPO_DIR}/build
deb=${REPO_DIR}/${PKG}_${VERSION}_all.deb
{ dpkg-deb -f "$deb"
  echo "Filename: ./$(basename "$deb")"
  echo "Size: $(stat -c %s "$deb")"
  echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"; } > ${REPO_DIR}/Packages
echo 'deb [trusted=yes] file:${REPO_DIR} ./' | sudo -n tee ${SOURCE} >/dev/null
update_only ${SOURCE}`;

/** Purges the package, removes the repository and its source, and drops its lists (no sources: no network); apt's empty auxfiles dir too. */
const CLEAN_UP = `set -eu
${UPDATE_ONLY}
sudo -n dpkg --purge ${PKG} >/dev/null
sudo -n rm -f ${SOURCE}; rm -rf ${REPO_DIR}
none=$(mktemp); update_only "$none"; rm -f "$none"
[ ! -d /var/lib/apt/lists/auxfiles ] || sudo -n find /var/lib/apt/lists/auxfiles -maxdepth 0 -empty -delete`;

const status = (host: LabHost) =>
  onHost(host, `dpkg-query -W -f='\${db:Status-Status}' ${PKG} 2>/dev/null || true`);

describe("PackageBaseline installs with apt-get on the lab edge", function () {
  this.timeout(600_000);
  let host: LabHost;
  let inputs: (install: boolean, names?: string[]) => Promise<PackageInputs>;

  before(async () => {
    host = await requireLabHost("okome-edge");
    assert.equal(status(host), "", `${PKG} is on ${host.name} before the test`);
    onHost(host, BUILD_REPO);
    inputs = async (install, names = [PKG, "dpkg"]) => {
      const r = await packages.check(
        {},
        {
          connection: {
            name: host.name,
            address: host.address,
            user: host.user,
            privateKeyPath: host.privateKeyPath,
            knownHostsFile: host.knownHostsFile,
          },
          packages: names,
          install,
          installStackKey: "okome-cache:installPackages",
        },
      );
      assert.equal(r.failures, undefined);
      return r.inputs as PackageInputs;
    };
  });
  after(() => {
    closePool();
    if (host) onHost(host, CLEAN_UP);
    if (host) assert.equal(status(host), "", `${PKG} is still known to dpkg after clean-up`);
  });

  it("with install=false, a missing package fails naming the host, the package and the stack key", async () => {
    await assert.rejects(packages.create(await inputs(false)), {
      message: `okome-edge: packages not installed: ${PKG}. This stack does not install packages (okome-cache:installPackages is false): bake them into the image, or set okome-cache:installPackages true`,
    });
    assert.equal(status(host), "", "nothing was installed");
  });

  it("installs what is missing, records its version, then a removal by hand shows on refresh and the next up installs it again", async () => {
    const ins = await inputs(true);
    const { id, outs } = await packages.create(ins);
    assert.equal(outs.installed[PKG], VERSION);
    assert.equal(status(host), "installed");
    assert.equal(onHost(host, `cat ${MARKER}`), "okome\n");
    assert.equal((await packages.diff(id, outs as PackageOutputs, ins)).changes, false);

    onHost(host, `sudo -n dpkg --remove ${PKG} >/dev/null`);
    const refreshed = await packages.read(id, outs as PackageOutputs);
    assert.equal(PKG in refreshed.props.installed, false);
    assert.deepEqual(refreshed.inputs.packages, ["dpkg"]);
    assert.equal((await packages.diff(id, refreshed.props as PackageOutputs, ins)).changes, true);

    const again = await packages.update(id, refreshed.props as PackageOutputs, ins);
    assert.equal(again.outs.installed[PKG], VERSION);
    assert.equal(status(host), "installed");
  });
});
