/** HostProbe's check(), diff() and how a probe's answer reads. Pure: nothing here touches a host. */
import { Issue } from "../../common/issues";
import type { ExecResult } from "../ssh/session";
import { Collector, checkConnection, isUnknown, withConnectionDefaults } from "../host/validate";
import { connectionReplaces, hasUnknowns } from "../host/wire";
import { PROBE_LIMITS, ProbeInputs, ProbeOutputs } from "./wire";

export function validateInputs(raw: Record<string, unknown>): Issue[] {
  const c = new Collector();
  checkConnection(c, raw.connection);
  c.string("command", raw.command, { required: true });
  const triggers = raw.triggers;
  if (triggers !== undefined && !isUnknown(triggers)) {
    if (!Array.isArray(triggers)) c.add("triggers", "must be a list of strings");
    else
      triggers.forEach((t, i) => {
        if (!isUnknown(t) && typeof t !== "string") c.add(`triggers[${i}]`, "must be a string");
      });
  }
  return c.issues;
}

export function withDefaults(raw: Record<string, unknown>): ProbeInputs {
  const r = raw as unknown as Partial<ProbeInputs> & Pick<ProbeInputs, "connection" | "command">;
  return {
    connection: withConnectionDefaults(r.connection),
    command: r.command,
    triggers: r.triggers ?? [],
  };
}

/** A new command or trigger runs the probe again; so does another host. */
export function diffProbe(olds: ProbeOutputs, news: ProbeInputs) {
  if (hasUnknowns(news)) return { changes: true };
  const replaces = connectionReplaces(olds, news);
  const inputs = (i: ProbeInputs) => JSON.stringify([i.connection, i.command, i.triggers]);
  const changes =
    replaces.length > 0 || inputs(olds) !== inputs(news) || olds.missing !== undefined;
  return { changes, replaces };
}

/** What refresh reports as the trigger when the host lacks the probe's command (impl.ts). */
export const missingTrigger = (host: string, command: string) =>
  `${command} is missing on ${host}: probe again`;

/** The probe's stdout as JSON, or an error naming the host, the command and its own words. */
export function parseProbe(host: string, command: string, res: ExecResult): unknown {
  const what = `${host}: probe \`${command}\``;
  if (res.code !== 0) {
    const status = res.code === null ? `was killed (${res.signal})` : `exited ${res.code}`;
    const why = res.stderr.trim() || res.stdout.trim() || "no output";
    throw new Error(`${what} ${status}: ${why}`);
  }
  if (Buffer.byteLength(res.stdout) > PROBE_LIMITS.maxOutputBytes)
    throw new Error(
      `${what} printed more than ${PROBE_LIMITS.maxOutputBytes} bytes; a probe reports facts, not data`,
    );
  try {
    return JSON.parse(res.stdout);
  } catch (e) {
    const shown = res.stdout.trim() === "" ? "nothing" : JSON.stringify(res.stdout.slice(0, 200));
    throw new Error(`${what} did not print JSON (${(e as Error).message}); it printed ${shown}`);
  }
}
