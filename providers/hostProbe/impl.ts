/**
 * The HostProbe provider's side effects. Loaded by the dynamic provider process at call
 * time (see provider.ts), never serialized into state. Delete has nothing to undo: a probe
 * only reads.
 */
import { hostStepProvider } from "../host/lifecycle";
import { asRoot, shQuote } from "../host/shell";
import { SshSession } from "../ssh/session";
import { diffProbe, missingTrigger, parseProbe, validateInputs, withDefaults } from "./probe";
import { ProbeInputs, ProbeOutputs } from "./wire";

/** Runs the command as root through sh, so a pipeline runs as root as a whole. */
const run = (session: SshSession, command: string) =>
  session.exec(asRoot(session.target, `sh -c ${shQuote(command)}`), { label: "probe" });

/** The shell's status for a command it cannot find. */
const NOT_FOUND = 127;

async function probe(session: SshSession, inputs: ProbeInputs) {
  return {
    result: parseProbe(session.target.name, inputs.command, await run(session, inputs.command)),
  };
}

export const implementation = hostStepProvider({
  idSuffix: "probe",
  validate: validateInputs,
  withDefaults,
  diff: diffProbe,
  apply: probe,
  // Refresh records today's facts; the inputs stay the program's. A host rebuilt since the last
  // run lacks the command until the sets that install it run again: refresh keeps the last
  // answer and reports a trigger of its own, so the next up probes again, after those sets.
  read: async (session, props: ProbeOutputs) => {
    const { connection, command, triggers } = props;
    const res = await run(session, command);
    if (res.code === NOT_FOUND) {
      const missing = missingTrigger(session.target.name, command);
      return {
        observed: { result: props.result, missing },
        inputs: { connection, command, triggers: [missing] },
      };
    }
    const result = parseProbe(session.target.name, command, res);
    return { observed: { result }, inputs: { connection, command, triggers } };
  },
});
