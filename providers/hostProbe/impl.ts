/**
 * The HostProbe provider's side effects. Loaded by the dynamic provider process at call
 * time (see provider.ts), never serialized into state. Delete has nothing to undo: a probe
 * only reads.
 */
import { hostStepProvider } from "../host/lifecycle";
import { asRoot, shQuote } from "../host/shell";
import { SshSession } from "../ssh/session";
import { diffProbe, parseProbe, validateInputs, withDefaults } from "./probe";
import { ProbeInputs, ProbeOutputs } from "./wire";

/** Runs the command as root through sh, so a pipeline runs as root as a whole. */
async function probe(session: SshSession, inputs: ProbeInputs) {
  const res = await session.exec(asRoot(session.target, `sh -c ${shQuote(inputs.command)}`), {
    label: "probe",
  });
  return { result: parseProbe(session.target.name, inputs.command, res) };
}

export const implementation = hostStepProvider({
  idSuffix: "probe",
  validate: validateInputs,
  withDefaults,
  diff: diffProbe,
  apply: probe,
  // Refresh records today's facts; the inputs stay the program's.
  read: async (session, props: ProbeOutputs) => {
    const { connection, command, triggers } = props;
    return { observed: await probe(session, props), inputs: { connection, command, triggers } };
  },
});
