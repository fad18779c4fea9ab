import { callTimeProvider, implFromProgramDir } from "../host/provider";

/** The PackageBaseline provider Pulumi serializes: forwards to ./impl.ts, loaded at call time. */
export const packageBaselineProvider = callTimeProvider(
  implFromProgramDir(__dirname),
  "okome-cache.packages.impl",
);
