/**
 * The ConfigSet provider's side effects. Loaded by the dynamic provider process at call
 * time (see provider.ts), never serialized into state.
 */
import { hostSession, resolveTarget } from "../host/target";
import { checkResult } from "../host/validate";
import { WireConnection, hasUnknowns } from "../host/wire";
import { formatHostKey } from "../ssh/hostKeys";
import {
  Plan,
  buildOutputs,
  describeChanges,
  diffState,
  inputsFromOutputs,
  maskSecrets,
  planApply,
  planDelete,
  sha256,
} from "./plan";
import { hostCommand, parseReadOutput } from "./script";
import { TxnSettings, runHost, runTransaction } from "./transaction";
import { mergeSecretContents, validateInputs, withDefaults } from "./validate";
import { FileState, Original, WireInputs, WireOutputs } from "./wire";

/** Runs one transaction; returns the originals of captured paths and the key the host presented. */
async function transact(
  conn: WireConnection,
  stateHostKey: string | undefined,
  s: TxnSettings,
  plan: Plan,
  olds: WireOutputs | undefined,
): Promise<{ captured: Record<string, Original>; hostKey: string }> {
  const t = resolveTarget(conn, stateHostKey);
  const changes = describeChanges(olds, plan.ops);
  const { report, hostKey } = await runTransaction(t, s, plan.ops, plan.capture, changes);
  const captured: Record<string, Original> = {};
  plan.capture.forEach((p, i) => {
    if (report.originals[i]) captured[p] = report.originals[i];
  });
  return { captured, hostKey: formatHostKey(hostKey) };
}

export async function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const { merged, issues: mergeIssues } = mergeSecretContents(news);
  const issues = [...mergeIssues, ...validateInputs(merged)];
  return checkResult(news, issues, () => maskSecrets(withDefaults(merged)));
}

export async function diff(_id: string, olds: WireOutputs, news: WireInputs) {
  if (hasUnknowns(news)) return { changes: true };
  const { changes, replaces } = diffState(olds, news);
  return { changes, replaces, deleteBeforeReplace: true };
}

export async function create(inputs: WireInputs) {
  const plan = planApply(undefined, inputs);
  const { captured, hostKey } = await transact(
    inputs.connection,
    undefined,
    inputs,
    plan,
    undefined,
  );
  const outs = buildOutputs(inputs, undefined, captured, hostKey);
  return { id: `${inputs.connection.name}:${inputs.service}`, outs: maskSecrets(outs) };
}

export async function update(_id: string, olds: WireOutputs, news: WireInputs) {
  const plan = planApply(olds, news);
  let hostKey = olds.hostKey;
  let captured: Record<string, Original> = {};
  // Only settings changed (a command, the key path): record them, touch nothing.
  if (plan.ops.length > 0)
    ({ captured, hostKey } = await transact(news.connection, olds.hostKey, news, plan, olds));
  return { outs: maskSecrets(buildOutputs(news, olds, captured, hostKey)) };
}

/** Fetches what the host really holds, so refresh shows hand edits as drift. */
export async function read(id: string, props: WireOutputs) {
  if (!props?.files)
    throw new Error(`ConfigSet ${id}: nothing in state to read (import is not supported)`);
  const { session } = await hostSession(props.connection, props.hostKey);
  const t = session.target;
  const paths = Object.keys(props.files);
  const live = parseReadOutput(
    await runHost(session, hostCommand("read", []), `${props.service} read`, {
      stdin: paths.map((p) => `${p}\n`).join(""),
    }),
    paths.length,
  );
  const files: Record<string, FileState> = {};
  paths.forEach((p, i) => {
    const l = live[i];
    if (l.present === "refused") {
      throw new Error(
        `${t.name}: ${props.service}: ${p} ${l.why}; okome-cache does not read through it (a planted link could pull another file into state). Remove it on the host, then refresh again.`,
      );
    }
    if (l.present) {
      const { present: _p, ...meta } = l;
      void _p;
      files[p] = {
        ...meta,
        secret: props.files[p].secret,
        ...(props.files[p].dirMode !== undefined && { dirMode: props.files[p].dirMode }),
        sha256: sha256(l.content),
      };
    }
  });
  const outs: WireOutputs = { ...props, files };
  return { id, props: maskSecrets(outs), inputs: maskSecrets(inputsFromOutputs(outs)) };
}

/** Puts back what each path held before the set (originals from state), then re-activates. */
export async function remove(_id: string, props: WireOutputs) {
  const plan = planDelete(props);
  // The service's probe checks this set's config, which is going away: no verify on delete.
  const settings: TxnSettings = { ...props, verify: undefined };
  await transact(props.connection, props.hostKey, settings, plan, props);
}

export type ConfigSetImpl = {
  check: typeof check;
  diff: typeof diff;
  create: typeof create;
  update: typeof update;
  read: typeof read;
  delete: typeof remove;
};

export const implementation: ConfigSetImpl = { check, diff, create, update, read, delete: remove };
