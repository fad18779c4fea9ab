/**
 * Fetches each Pi's SSH host key for the operator to compare and pin:
 *
 *   npm run hostkeys -- --stack prod|lab
 *
 * Trusts nothing it sees: the handshake stops at the host key (no login), and the key is only
 * printed, with its fingerprint and the `pulumi config set` command that pins it. The operator
 * runs that command after comparing the fingerprint with the one the Pi shows on its console.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { expandHome } from "../common/paths";
import { PINNED_HOSTS, key } from "../components/config";
import { CONFIG_SET_DEFAULTS } from "../providers";
import {
  HostKey,
  fingerprint,
  formatHostKey,
  parseHostKey,
  pinnedHostKeys,
  sameKey,
} from "../providers/ssh/hostKeys";
import { scanHostKey } from "../providers/ssh/hostKeyScan";
import { ConfigReader } from "../components/stack";
import { readStackConfig } from "./lib/stackConfig";
import { runMain } from "./lib/runMain";

/** What the stack pins for a host today, in words, against the key just fetched. */
function currentPin(read: ConfigReader, host: (typeof PINNED_HOSTS)[number], got: HostKey): string {
  const configured = read(host.hostKeyKey);
  const knownHostsFile = read("knownHostsFile");
  let pins: HostKey[] = [];
  let source: string;
  if (configured !== undefined) {
    pins = [parseHostKey(configured)].filter((k) => k !== undefined);
    source = key(host.hostKeyKey);
  } else if (knownHostsFile !== undefined) {
    source = `known_hosts ${knownHostsFile}`;
    try {
      const text = readFileSync(expandHome(knownHostsFile), "utf8");
      pins = pinnedHostKeys(text, read(host.addressKey)!, CONFIG_SET_DEFAULTS.port);
    } catch (e) {
      return `nothing pinned yet (${source}: ${(e as Error).message})`;
    }
  } else return "nothing pinned yet";
  if (pins.length === 0) return `nothing pinned yet (${source} has no entry)`;
  if (pins.some((k) => sameKey(k, got))) return `this key, by ${source}`;
  const others = pins.map((k) => fingerprint(k)).join(", ");
  return `A DIFFERENT KEY (${others}), by ${source}: the Pi was reinstalled, or this is not the Pi`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string", short: "s" } } });
  const stack = values.stack;
  if (stack === undefined) {
    console.error("usage: npm run hostkeys -- --stack <stack>");
    return 2;
  }
  const config = await readStackConfig(stack);
  if ("error" in config) {
    console.error(`cannot read the config of stack ${stack}: ${config.error}`);
    return 1;
  }
  const { read } = config;
  let failed = 0;
  for (const host of PINNED_HOSTS) {
    const address = read(host.addressKey);
    if (address === undefined) {
      console.error(
        `${key(host.addressKey)} is not set: pulumi config set -s ${stack} ${key(host.addressKey)} <IPv4 address>`,
      );
      failed++;
      continue;
    }
    const target = { name: host.name, address, port: CONFIG_SET_DEFAULTS.port };
    try {
      const got = await scanHostKey(target);
      console.log(
        [
          `${host.name} (the ${host.role} Pi) ${address}:${target.port}`,
          `  type:        ${got.type}`,
          `  fingerprint: ${fingerprint(got)}`,
          `  pinned now:  ${currentPin(read, host, got)}`,
          `  to pin it:   pulumi config set -s ${stack} ${key(host.hostKeyKey)} '${formatHostKey(got)}'`,
          "",
        ].join("\n"),
      );
    } catch (e) {
      console.error(`${(e as Error).message}\n`);
      failed++;
    }
  }
  console.log(
    [
      "Nothing was pinned. Before running a `pulumi config set` above, compare its fingerprint",
      "with the one the Pi prints on its own console (screen and keyboard, not over the network):",
      "  ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
      "(ssh_host_<type>_key.pub for another type). Pin only a key whose fingerprint matches.",
    ].join("\n"),
  );
  return failed === 0 ? 0 : 1;
}

runMain(main);
