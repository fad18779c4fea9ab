/**
 * The golden image procedure end to end (issue 18): assets/scripts/create-golden-image.sh on
 * loop-backed cards. A Pi-like card (DOS table, FAT boot partition carrying the kernel, ext4
 * root holding the lab's golden rootfs, with its own host keys and machine-id) is captured,
 * restored to a larger card under a new name, and the restored card boots under qemu as a new
 * node. The script's refusals are run against the second card, which must not change.
 *
 * Needs root, qemu and the lab's golden image (built by `lab/lab.sh up` or `lab/lab.sh image`);
 * fails, never skips. It uses no lab bridge or namespace: its own qemu has user-mode
 * networking with restrict=on (no way out) and SSH forwarded from 127.0.0.1 only.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../support/ports";

const repo = path.resolve(__dirname, "../..");
const script = path.join(repo, "assets/scripts/create-golden-image.sh");
const imagesDir = path.join(
  process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"),
  "lab",
  "images",
);
const MiB = 1024 * 1024;
const SECTOR = 512;
/** Raspberry Pi OS layout: boot partition at 4 MiB, root right behind it to the card's end. */
const BOOT_START = (4 * MiB) / SECTOR;
const BOOT_SECTORS = (256 * MiB) / SECTOR;
const ROOT_START = BOOT_START + BOOT_SECTORS;
const CARD1_BYTES = 1536 * MiB;
const CARD2_BYTES = 2048 * MiB;
const GOLDEN_HOSTNAME = "okome-golden";
const CLONE_HOSTNAME = "okome-clone";
const BOOT_TIMEOUT_MS = 6 * 60_000;
/** Files a deployed Pi holds that capture must leave out (the script's DEPLOYED_SECRETS). */
const DEPLOYED_SECRETS = [
  "etc/okome/secrets/redis-admin",
  "etc/okome/prometheus-secrets/redis-exporter.json",
  "etc/okome/validate.env",
  "etc/okome/wireguard/okome-wg.key",
  "etc/redis/users.acl",
];

let started = Date.now();
function progress(message: string): void {
  console.log(`      [golden-image +${((Date.now() - started) / 1000).toFixed(0)} s] ${message}`);
}

function output(res: SpawnSyncReturns<string>): string {
  return `exit ${res.status}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 64 * MiB });
  if (res.error) throw res.error;
  return res;
}

/** Runs a setup command that must succeed; returns its stdout. */
function must(cmd: string, ...args: string[]): string {
  const res = run(cmd, args);
  assert.equal(res.status, 0, `${cmd} ${args.join(" ")}: ${output(res)}`);
  return res.stdout;
}

function golden(args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  progress(`create-golden-image.sh ${args.join(" ")}`);
  return run(script, args, env);
}

/** Whether a card changed: BLAKE2 (b2sum), three times faster than sha256sum on this CPU. */
function digest(file: string): string {
  return must("b2sum", file).split(" ")[0];
}

/** sha256 of bytes [start, start + length) of a file or device. */
async function sha256Range(file: string, start: number, length: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { start, end: start + length - 1 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/** The newest finished amd64 lab image (rootfs/, vmlinuz, initrd.img). */
function labImage(): string {
  const found = fs.existsSync(imagesDir)
    ? fs
        .readdirSync(imagesDir)
        .map((name) => path.join(imagesDir, name))
        .filter((dir) => fs.existsSync(path.join(dir, "manifest.json")))
        .map((dir) => ({
          dir,
          manifest: JSON.parse(fs.readFileSync(`${dir}/manifest.json`, "utf8")),
        }))
        .filter(({ manifest }) => (manifest.arch ?? "amd64") === "amd64")
        .sort((a, b) => String(b.manifest.built).localeCompare(String(a.manifest.built)))
    : [];
  if (found.length === 0)
    throw new Error(`no lab golden image in ${imagesDir}: run bash lab/lab.sh image (or lab up)`);
  return found[0].dir;
}

/** The whole disk holding this machine's /, as the script computes it. */
function rootDisk(): string {
  const source = must("findmnt", "-n", "-o", "SOURCE", "--target", "/").trim();
  if (!source.startsWith("/dev/"))
    throw new Error(`/ is on ${source}, not a disk: the "disk holding /" refusal needs one`);
  const parent = must("lsblk", "-n", "-d", "-o", "PKNAME", source).trim();
  return parent ? `/dev/${parent}` : fs.realpathSync(source);
}

/** A PATH with every command of this one except `missing`. */
function pathWithout(missing: string, dir: string): string {
  fs.mkdirSync(dir);
  for (const bin of (process.env.PATH ?? "").split(":")) {
    if (!fs.existsSync(bin)) continue;
    for (const name of fs.readdirSync(bin)) {
      const link = path.join(dir, name);
      if (name !== missing && !fs.existsSync(link)) fs.symlinkSync(path.join(bin, name), link);
    }
  }
  return dir;
}

describe("create-golden-image.sh on loop-backed cards: capture, restore, boot", function () {
  this.timeout(15 * 60_000);
  this.bail(true);

  let tmp: string;
  let image: string;
  let sshKey: string;
  let card1: string;
  let card2: string;
  let loop1: string;
  let loop2: string;
  let goldenImg: string;
  let labelId: string;
  /** Card 1's identity before capture: a clone must get new ones. */
  let originalHostKey: string;
  let originalMachineId: string;
  const loops: string[] = [];
  const mounts: string[] = [];
  let qemu: ChildProcess | undefined;

  function attach(file: string, ...opts: string[]): string {
    const loop = must("losetup", "--find", "--show", ...opts, file).trim();
    loops.push(loop);
    return loop;
  }

  /** Without udev (and on a kernel without a DOS table parser) partx adds the nodes. */
  function partition(loop: string, num: number): string {
    const node = `${loop}p${num}`;
    run("partx", ["-a", loop]);
    for (let i = 0; i < 50 && !fs.existsSync(node); i++) spawnSync("sleep", ["0.1"]);
    assert.ok(fs.existsSync(node), `${node} did not appear after partx -a ${loop}`);
    return node;
  }

  function detach(loop: string): void {
    run("partx", ["-d", loop]);
    must("losetup", "-d", loop);
    loops.splice(loops.indexOf(loop), 1);
  }

  function mount(device: string, options: string): string {
    const dir = fs.mkdtempSync(path.join(tmp, "mnt-"));
    must("mount", "-o", options, device, dir);
    mounts.push(dir);
    return dir;
  }

  function unmount(dir: string): void {
    must("umount", dir);
    mounts.splice(mounts.indexOf(dir), 1);
    fs.rmdirSync(dir);
  }

  /** Reads a root filesystem (a partition node, or an offset into an image file) read-only. */
  function readRoot<T>(source: string, read: (root: string) => T, offset?: number): T {
    const device = offset === undefined ? source : attach(source, "-r", "--offset", String(offset));
    const root = mount(device, "ro,noload");
    try {
      return read(root);
    } finally {
      unmount(root);
      if (device !== source) detach(device);
    }
  }

  /** A refusal exits non-zero with `message` and leaves card 2's checksum as it was. */
  function refuses(
    card2Digest: string,
    args: string[],
    message: RegExp,
    env?: NodeJS.ProcessEnv,
  ): void {
    const res = golden(args, env);
    assert.notEqual(res.status, 0, `must refuse: ${output(res)}`);
    assert.match(res.stderr, message);
    assert.equal(digest(card2), card2Digest, "card 2 unchanged by the refused run");
  }

  before(function () {
    started = Date.now();
    assert.equal(process.getuid?.(), 0, "needs root: loop devices, mounts");
    image = labImage();
    progress(`lab golden image ${image}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "okome-golden-"));
    sshKey = path.join(tmp, "id_ed25519");
    must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "golden-image-test", "-f", sshKey);
    card1 = path.join(tmp, "card1.raw");
    card2 = path.join(tmp, "card2.raw");
    goldenImg = path.join(tmp, "golden.img");
  });

  /** Stops the test's own qemu by its PID: TERM (the card is thrown away), then KILL. */
  async function stopQemu(): Promise<void> {
    const vm = qemu;
    if (vm?.pid === undefined || vm.exitCode !== null || vm.signalCode !== null) return;
    const exited = new Promise((resolve) => vm.once("exit", resolve));
    process.kill(vm.pid, "SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (vm.exitCode === null && vm.signalCode === null) process.kill(vm.pid, "SIGKILL");
  }

  after(async function () {
    await stopQemu();
    for (const dir of [...mounts].reverse()) run("umount", [dir]);
    for (const loop of [...loops].reverse()) {
      run("partx", ["-d", loop]);
      run("losetup", ["-d", loop]);
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("builds a Pi-like card: DOS table, FAT boot partition (mtools), ext4 root from the lab image", function () {
    labelId = randomBytes(4).toString("hex").replace(/^0/, "1");
    fs.writeFileSync(card1, "");
    fs.truncateSync(card1, CARD1_BYTES);
    loop1 = attach(card1);
    const table = `label: dos\nlabel-id: 0x${labelId}\nstart=${BOOT_START},size=${BOOT_SECTORS},type=c\nstart=${ROOT_START},type=83\n`;
    const res = spawnSync("sfdisk", ["-q", "--no-tell-kernel", loop1], {
      input: table,
      encoding: "utf8",
    });
    assert.equal(res.status, 0, output(res));

    // The Pi firmware reads kernel, initramfs and command line from the FAT partition; the
    // qemu boot below takes them from there too.
    const cmdline = `console=ttyS0 root=PARTUUID=${labelId}-02 rootfstype=ext4 fsck.repair=yes rootwait net.ifnames=0`;
    fs.writeFileSync(path.join(tmp, "cmdline.txt"), `${cmdline}\n`);
    fs.writeFileSync(
      path.join(tmp, "config.txt"),
      "kernel=vmlinuz\ninitramfs initrd.img followkernel\n",
    );
    // This machine's kernel may have no vfat (CONFIG_VFAT_FS off here), so the FAT partition
    // is made and filled with mkfs.vfat and mtools, which need no mount.
    const kernelHasVfat = /\svfat$/m.test(fs.readFileSync("/proc/filesystems", "utf8"));
    progress(`FAT boot partition with mtools (kernel vfat: ${kernelHasVfat ? "yes" : "no"})`);
    const boot = partition(loop1, 1);
    must("mkfs.vfat", "-F", "32", "-n", "BOOTFS", boot);
    must(
      "mcopy",
      "-i",
      boot,
      `${image}/vmlinuz`,
      `${image}/initrd.img`,
      path.join(tmp, "cmdline.txt"),
      path.join(tmp, "config.txt"),
      "::/",
    );

    progress("ext4 root from the lab rootfs (mkfs.ext4 -d)");
    const rootPart = partition(loop1, 2);
    must("mkfs.ext4", "-q", "-L", "rootfs", "-d", `${image}/rootfs`, rootPart);
    // A used card: its own name, host keys and machine-id, the deploy key (as Raspberry Pi
    // Imager puts it), DHCP on eth0, and a Pi's fstab by PARTUUID.
    const root = mount(rootPart, "rw");
    fs.writeFileSync(`${root}/etc/hostname`, `${GOLDEN_HOSTNAME}\n`);
    fs.writeFileSync(`${root}/etc/hosts`, `127.0.0.1\tlocalhost\n127.0.1.1\t${GOLDEN_HOSTNAME}\n`);
    fs.writeFileSync(
      `${root}/etc/fstab`,
      `PARTUUID=${labelId}-01 /boot/firmware vfat defaults 0 2\n` +
        `PARTUUID=${labelId}-02 / ext4 defaults,noatime 0 1\n`,
    );
    fs.mkdirSync(`${root}/boot/firmware`, { recursive: true });
    fs.writeFileSync(
      `${root}/etc/systemd/network/10-eth0.network`,
      "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n",
    );
    // Overwritten in place: the file keeps its owner and mode 0600.
    fs.writeFileSync(`${root}/home/okome/.ssh/authorized_keys`, fs.readFileSync(`${sshKey}.pub`));
    must("ssh-keygen", "-A", "-f", root);
    originalHostKey = fs
      .readFileSync(`${root}/etc/ssh/ssh_host_ed25519_key.pub`, "utf8")
      .split(" ")[1];
    originalMachineId = randomBytes(16).toString("hex");
    fs.writeFileSync(`${root}/etc/machine-id`, `${originalMachineId}\n`);
    // What one `pulumi up` leaves on a Pi: secrets that must not reach the image.
    for (const file of DEPLOYED_SECRETS) {
      fs.mkdirSync(path.dirname(`${root}/${file}`), { recursive: true });
      fs.writeFileSync(`${root}/${file}`, "okome-golden-test-secret\n", { mode: 0o600 });
    }
    unmount(root);

    const parts = JSON.parse(must("sfdisk", "-J", loop1)).partitiontable;
    assert.equal(parts.label, "dos");
    assert.deepEqual(
      parts.partitions.map((p: { type: string }) => p.type),
      ["c", "83"],
    );
    assert.match(must("mdir", "-b", "-i", boot, "::/"), /VMLINUZ|vmlinuz/);
  });

  it("captures it: a smaller image that verifies, without host keys, machine-id or deployed secrets", async function () {
    const before = digest(card1);
    const res = golden(["capture", loop1, goldenImg, "--allow-loop"]);
    assert.equal(res.status, 0, output(res));
    assert.equal(digest(card1), before, "capture leaves the card as it was");
    const size = fs.statSync(goldenImg).size;
    progress(`image ${(size / MiB).toFixed(0)} MiB from a ${CARD1_BYTES / MiB} MiB card`);
    assert.ok(size < CARD1_BYTES, `image (${size} B) smaller than the card (${CARD1_BYTES} B)`);

    const verify = golden(["verify", goldenImg]);
    assert.equal(verify.status, 0, output(verify));
    assert.match(verify.stderr, /matches its checksum/);
    // verify really compares: one changed byte in a copy fails it.
    const copyDir = fs.mkdtempSync(path.join(tmp, "tampered-"));
    const copy = path.join(copyDir, "golden.img");
    fs.copyFileSync(goldenImg, copy);
    fs.copyFileSync(`${goldenImg}.sha256`, `${copy}.sha256`);
    const fd = fs.openSync(copy, "r+");
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, ROOT_START * SECTOR + 2 * MiB);
    fs.closeSync(fd);
    const tampered = golden(["verify", copy]);
    assert.notEqual(tampered.status, 0, output(tampered));
    assert.match(tampered.stderr, /does not match/);
    fs.rmSync(copyDir, { recursive: true });

    readRoot(
      goldenImg,
      (root) => {
        const keys = fs.readdirSync(`${root}/etc/ssh`).filter((f) => f.startsWith("ssh_host_"));
        assert.deepEqual(keys, [], "no SSH host keys in the image");
        assert.equal(fs.statSync(`${root}/etc/machine-id`).size, 0, "machine-id emptied");
        const leaked = DEPLOYED_SECRETS.filter((file) => fs.existsSync(`${root}/${file}`));
        assert.deepEqual(leaked, [], "the deployed secrets are not in the image");
        assert.ok(
          fs.existsSync(
            `${root}/etc/systemd/system/multi-user.target.wants/okome-ssh-host-keys.service`,
          ),
          "first-boot host key unit enabled",
        );
      },
      ROOT_START * SECTOR,
    );
  });

  it("refuses, writing nothing: a loop without --allow-loop, a mounted partition, a file attached twice, over --max-size, a missing tool, the disk holding /", function () {
    fs.writeFileSync(card2, "");
    fs.truncateSync(card2, CARD2_BYTES);
    loop2 = attach(card2);
    // Something to mount: one ext4 partition, as a card fresh from the shop has a FAT one.
    const res = spawnSync("sfdisk", ["-q", "--no-tell-kernel", loop2], {
      input: `label: dos\nstart=${BOOT_START},size=${BOOT_SECTORS},type=83\n`,
      encoding: "utf8",
    });
    assert.equal(res.status, 0, output(res));
    must("mkfs.ext4", "-q", partition(loop2, 1));
    const restore = ["restore", goldenImg, loop2, "--yes", "--hostname", CLONE_HOSTNAME];
    const card2Digest = digest(card2);

    refuses(card2Digest, restore, /is a loop, not a whole disk .*--allow-loop/);

    // Read-only, so the mount itself writes nothing (rw would: superblock, lazy inode init).
    const mounted = mount(`${loop2}p1`, "ro");
    try {
      refuses(
        card2Digest,
        [...restore, "--allow-loop"],
        /has mounted partitions \(.*\); unmount them first/,
      );
    } finally {
      unmount(mounted);
    }

    const second = attach(card2);
    try {
      refuses(
        card2Digest,
        [...restore, "--allow-loop"],
        new RegExp(`is also attached as ${second}: detach it`),
      );
    } finally {
      detach(second);
    }

    refuses(
      card2Digest,
      [...restore, "--allow-loop", "--max-size", "1G"],
      /is 2\.0G, larger than --max-size 1G/,
    );

    const env = {
      ...process.env,
      PATH: pathWithout("sfdisk", path.join(tmp, "bin-without-sfdisk")),
    };
    refuses(card2Digest, [...restore, "--allow-loop"], /missing tool: sfdisk \(apt install/, env);

    // Capture only reads, and must refuse before reading: no image file appears.
    const disk = rootDisk();
    const out = path.join(tmp, "root-disk.img");
    const system = golden(["capture", disk, out, "--allow-fixed"]);
    assert.notEqual(system.status, 0, output(system));
    assert.match(system.stderr, new RegExp(`${disk} holds this machine's /: refusing`));
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith("root-disk")),
      [],
    );
  });

  it("restores to a larger card with --hostname: root grown to the card's end, name set, checksums match", async function () {
    const res = golden([
      "restore",
      goldenImg,
      loop2,
      "--allow-loop",
      "--yes",
      "--hostname",
      CLONE_HOSTNAME,
    ]);
    assert.equal(res.status, 0, output(res));
    const imageSum = fs.readFileSync(`${goldenImg}.sha256`, "utf8").split(" ")[0];
    assert.match(
      res.stderr,
      new RegExp(`write verified: sha256 ${imageSum}`),
      "read-back checksum",
    );
    // Checked independently: grow and hostname change only the root, so the table's boot
    // entry and the FAT partition are the image's bytes.
    assert.equal(
      await sha256Range(card2, BOOT_START * SECTOR, BOOT_SECTORS * SECTOR),
      await sha256Range(goldenImg, BOOT_START * SECTOR, BOOT_SECTORS * SECTOR),
      "boot partition on the card equals the image's",
    );

    const parts = JSON.parse(must("sfdisk", "-J", loop2)).partitiontable.partitions;
    const rootPart = parts[1] as { start: number; size: number };
    assert.equal(rootPart.start, ROOT_START);
    assert.equal(
      (rootPart.start + rootPart.size) * SECTOR,
      CARD2_BYTES,
      "root ends at the card's end",
    );
    const node = partition(loop2, 2);
    const fsInfo = must("dumpe2fs", "-h", node);
    const blocks = Number(/^Block count:\s+(\d+)/m.exec(fsInfo)?.[1]);
    const blockSize = Number(/^Block size:\s+(\d+)/m.exec(fsInfo)?.[1]);
    const partBytes = rootPart.size * SECTOR;
    assert.ok(
      partBytes - blocks * blockSize < blockSize,
      `ext4 fills the partition: ${blocks} x ${blockSize} B of ${partBytes} B`,
    );
    readRoot(node, (root) => {
      assert.equal(fs.readFileSync(`${root}/etc/hostname`, "utf8"), `${CLONE_HOSTNAME}\n`);
      assert.match(
        fs.readFileSync(`${root}/etc/hosts`, "utf8"),
        new RegExp(`^127\\.0\\.1\\.1\\t${CLONE_HOSTNAME}$`, "m"),
      );
    });
    detach(loop2);
  });

  it("boots the restored card under qemu: new host keys, new machine-id, answers SSH", async function () {
    // Kernel, initramfs and command line come from the restored card's FAT partition.
    const fat = `${card2}@@${BOOT_START * SECTOR}`;
    for (const f of ["vmlinuz", "initrd.img", "cmdline.txt"]) {
      must("mcopy", "-o", "-i", fat, `::/${f}`, path.join(tmp, `boot-${f}`));
    }
    const cmdline = fs.readFileSync(path.join(tmp, "boot-cmdline.txt"), "utf8").trim();
    const accel = must("bash", path.join(repo, "lab/driver-qemu.sh"), "accel", image).trim();
    const port = await freePort();
    const consoleLog = path.join(tmp, "console.log");
    const stderr = fs.openSync(path.join(tmp, "qemu.stderr"), "w");
    progress(`booting under qemu (${accel}), SSH on 127.0.0.1:${port}, console ${consoleLog}`);
    qemu = spawn(
      "qemu-system-x86_64",
      // prettier-ignore
      [
        "-name", "okome-golden-test", "-machine", "q35", "-accel", accel,
        "-cpu", accel === "kvm" ? "host" : "max", "-smp", "1", "-m", "1024",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", path.join(tmp, "boot-vmlinuz"), "-initrd", path.join(tmp, "boot-initrd.img"),
        "-append", `${cmdline} panic=-1`,
        "-drive", `file=${card2},if=virtio,format=raw`,
        // restrict=on: the guest reaches nothing outside; only the forward comes in.
        "-netdev", `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`,
        "-device", "virtio-net-pci,netdev=net0",
        "-device", "virtio-rng-pci",
        "-serial", `file:${consoleLog}`,
      ],
      { stdio: ["ignore", "ignore", stderr] },
    );
    fs.closeSync(stderr);

    const knownHosts = path.join(tmp, "known_hosts");
    const ssh = (command: string) =>
      spawnSync(
        "ssh",
        // prettier-ignore
        [
          "-i", sshKey, "-p", String(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
          "-o", "StrictHostKeyChecking=accept-new", "-o", `UserKnownHostsFile=${knownHosts}`,
          "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "okome@127.0.0.1", command,
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    let last = ssh("true");
    let lastReport = Date.now();
    while (last.status !== 0) {
      const consoleTail = () =>
        fs.existsSync(consoleLog)
          ? fs.readFileSync(consoleLog, "utf8").split("\n").slice(-25).join("\n")
          : "";
      if (qemu.exitCode !== null || qemu.signalCode !== null)
        throw new Error(
          `qemu exited (${qemu.exitCode ?? qemu.signalCode}):\n${consoleTail()}\n${fs.readFileSync(path.join(tmp, "qemu.stderr"), "utf8")}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `no SSH on 127.0.0.1:${port} in ${BOOT_TIMEOUT_MS / 1000} s: ${last.stderr}\n${consoleTail()}`,
        );
      if (Date.now() - lastReport > 30_000) {
        const lines = consoleTail().trim().split("\n");
        progress(`waiting for SSH; console: ${lines[lines.length - 1]?.slice(0, 100)}`);
        lastReport = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
      last = ssh("true");
    }
    progress("the restored card answers SSH");

    const res = ssh(
      [
        "hostname",
        "cat /etc/machine-id",
        "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub",
        "findmnt -n -o FSTYPE /boot/firmware",
        "findmnt -n -o SOURCE /",
        "systemctl show -p ExecMainStatus --value okome-ssh-host-keys.service",
      ].join("; "),
    );
    assert.equal(res.status, 0, output(res));
    const [hostname, machineId, hostKey, bootFs, rootSource, keyUnitStatus] = res.stdout
      .trim()
      .split("\n");
    assert.equal(hostname, CLONE_HOSTNAME);
    assert.match(machineId, /^[0-9a-f]{32}$/, "a machine-id was generated at first boot");
    assert.notEqual(machineId, originalMachineId, "new machine-id");
    assert.notEqual(hostKey, originalHostKey, "new SSH host key");
    const known = fs.readFileSync(knownHosts, "utf8");
    assert.ok(
      known.includes(` ssh-ed25519 ${hostKey}`),
      "SSH answered with the key the guest generated",
    );
    assert.equal(keyUnitStatus, "0", "the first-boot host key unit ran");
    assert.equal(bootFs, "vfat", "the FAT boot partition is mounted at /boot/firmware");
    assert.equal(rootSource, "/dev/vda2");
    await stopQemu();
  });
});
