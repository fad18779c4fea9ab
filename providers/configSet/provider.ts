import { callTimeProvider, implFromProgramDir } from "../host/provider";

/** The ConfigSet provider Pulumi serializes: forwards to ./impl.ts, loaded at call time. */
export const configSetProvider = callTimeProvider(
  implFromProgramDir(__dirname),
  "okome-cache.configSet.impl",
);
