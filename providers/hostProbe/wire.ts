/**
 * The HostProbe resource as the Pulumi engine stores it. Plain data, no Pulumi imports:
 * this module is loaded by the dynamic provider process too.
 */
import { HostState, WireConnection } from "../host/wire";

export const PROBE_LIMITS = {
  /** A probe reports facts; a larger answer is data that does not belong in state. */
  maxOutputBytes: 64 * 1024,
} as const;

export interface ProbeInputs {
  connection: WireConnection;
  command: string;
  triggers: string[];
}

export interface ProbeOutputs extends ProbeInputs, HostState {
  /** The command's stdout, parsed as JSON. */
  result: unknown;
  /** Set by a refresh that found the command missing on the host (rebuilt): probe again. */
  missing?: string;
}
