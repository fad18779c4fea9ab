/**
 * The lifecycle shared by the providers that bring one host to a state and record what they
 * saw (PackageBaseline, HostProbe): check and diff are pure, create and update run the same
 * host step over the pooled session, read runs the host's read, delete touches nothing.
 * Side effects; loaded in the dynamic provider process at call time.
 */
import { Issue } from "../../common/issues";
import { SshSession } from "../ssh/session";
import { hostSession } from "./target";
import { checkResult } from "./validate";
import { HostState, WireConnection, maskConnection } from "./wire";

export interface HostStepSpec<I extends { connection: WireConnection }, R> {
  /** Ids are `<host>:<idSuffix>`. */
  readonly idSuffix: string;
  readonly validate: (raw: Record<string, unknown>) => Issue[];
  readonly withDefaults: (raw: Record<string, unknown>) => I;
  /** From state alone: preview opens no SSH. */
  readonly diff: (olds: I & HostState & R, news: I) => { changes: boolean; replaces?: string[] };
  /** Create and update: brings the host to `inputs`, returns what it observed. */
  readonly apply: (session: SshSession, inputs: I) => Promise<R>;
  /** Refresh: what the host holds now, and the inputs that make a preview show the drift. */
  readonly read: (
    session: SshSession,
    props: I & HostState & R,
  ) => Promise<{ observed: R; inputs: I }>;
}

/** A provider implementation (provider.ts loads it) from one host step. */
export function hostStepProvider<I extends { connection: WireConnection }, R>(
  spec: HostStepSpec<I, R>,
) {
  type Outputs = I & HostState & R;
  const apply = async (inputs: I, stateHostKey: string | undefined) => {
    const { session, hostKey } = await hostSession(inputs.connection, stateHostKey);
    const observed = await spec.apply(session, inputs);
    return maskConnection({ ...inputs, host: inputs.connection.name, hostKey, ...observed });
  };
  return {
    check: async (_olds: Record<string, unknown>, news: Record<string, unknown>) =>
      checkResult(news, spec.validate(news), () => maskConnection(spec.withDefaults(news))),
    diff: async (_id: string, olds: Outputs, news: I) => spec.diff(olds, news),
    create: async (inputs: I) => ({
      id: `${inputs.connection.name}:${spec.idSuffix}`,
      outs: await apply(inputs, undefined),
    }),
    update: async (_id: string, olds: Outputs, news: I) => ({
      outs: await apply(news, olds.hostKey),
    }),
    read: async (id: string, props: Outputs) => {
      const { session } = await hostSession(props.connection, props.hostKey);
      const { observed, inputs } = await spec.read(session, props);
      return {
        id,
        props: maskConnection({ ...props, ...observed }),
        inputs: maskConnection(inputs),
      };
    },
    /** Nothing on the host: what these steps did stays (see each provider's delete note). */
    delete: async () => {},
  };
}
