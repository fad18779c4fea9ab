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

/** An Output's value, once known. */
export const outputValue = <T>(o: pulumi.Output<T>) =>
  new Promise<T>((resolve) => o.apply((v) => resolve(v)));

/** Pulumi's wire marker of a secret, as mocks receive secret inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** True for a secret input as the mocks receive it. */
export const isWrappedSecret = (v: unknown) =>
  typeof v === "object" && v !== null && SECRET_SIG in v;

/** The value inside a secret input (or the input itself when it is no secret). */
export const unwrapSecret = (v: unknown) =>
  isWrappedSecret(v) ? (v as unknown as { value: unknown }).value : v;
