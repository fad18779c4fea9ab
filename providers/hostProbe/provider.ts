import { callTimeProvider, implFromProgramDir } from "../host/provider";

/** The HostProbe provider Pulumi serializes: forwards to ./impl.ts, loaded at call time. */
export const hostProbeProvider = callTimeProvider(
  implFromProgramDir(__dirname),
  "okome-cache.hostProbe.impl",
);
