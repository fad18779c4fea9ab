import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link SecretPassword}. */
export interface SecretPasswordArgs {
  /**
   * Random bytes behind the password, which is their base64url text (letters, digits, `-`, `_`:
   * safe in ACL files, env files and URLs). From 16 to 64. Changing it generates a new password.
   */
  readonly bytes?: number;
}

/** Defaults of {@link SecretPasswordArgs}. */
export const SECRET_PASSWORD_DEFAULTS = {
  /** 256 bits: a Redis AUTH can be tried a million times a second, so the password must be long. */
  bytes: 32,
} as const;

interface PasswordInputs {
  bytes: number;
}

// Runs in the dynamic provider process, from serialized code: no module state, nothing but crypto.
const provider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: PasswordInputs, news: PasswordInputs) {
    const ok = Number.isInteger(news.bytes) && news.bytes >= 16 && news.bytes <= 64;
    return ok
      ? { inputs: news }
      : { failures: [{ property: "bytes", reason: "must be an integer from 16 to 64" }] };
  },
  async create(inputs: PasswordInputs) {
    return {
      id: randomBytes(8).toString("hex"),
      outs: { bytes: inputs.bytes, password: randomBytes(inputs.bytes).toString("base64url") },
    };
  },
  async diff(_id: string, olds: PasswordInputs, news: PasswordInputs) {
    const changes = olds.bytes !== news.bytes;
    return { changes, replaces: changes ? ["bytes"] : [] };
  },
};

/**
 * A random password generated once, at create, and kept in state as a Pulumi secret (encrypted,
 * shown as [secret]). Nothing on any host; `pulumi preview` shows it as unknown until created.
 */
export class SecretPassword extends pulumi.dynamic.Resource {
  /** The password; a secret output. */
  declare readonly password: pulumi.Output<string>;

  constructor(name: string, args: SecretPasswordArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { bytes: args.bytes ?? SECRET_PASSWORD_DEFAULTS.bytes, password: undefined },
      { ...opts, additionalSecretOutputs: ["password"] },
      "okome",
      "SecretPassword",
    );
  }
}
