import * as pulumi from "@pulumi/pulumi";

/** A resource as a component registered it under the mocks. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

/**
 * Pulumi mocks for a component's unit tests (project okome-cache, stack unit): every resource is
 * recorded in `registered`, and its state is its inputs plus what `outputsOf` adds by type (what
 * the real provider would compute, e.g. a generated password). Returns the record; empty it
 * between tests (`registered.length = 0`).
 */
export function recordingMocks(
  outputsOf: (type: string, name: string) => Record<string, unknown> = () => ({}),
): Registered[] {
  const registered: Registered[] = [];
  void pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, ...outputsOf(args.type, args.name) },
        };
      },
      call: () => ({}),
    },
    "okome-cache",
    "unit",
    false,
  );
  return registered;
}
