import Redis from "ioredis";
import { ADMIN_COMMANDS, RESERVED_USERS, parseRedisSize } from "../../components/modelCache";
import {
  StackOutputs,
  ValidationModule,
  booleanOutput,
  integerOutput,
  stringOutput,
} from "./runner";

/** The stack outputs this module reads (index.ts exports them). */
export const MODEL_CACHE_OUTPUTS = {
  address: "modelCacheAddress",
  port: "modelCachePort",
  user: "modelCacheUser",
  password: "modelCachePassword",
  monitorUser: "modelCacheMonitorUser",
  monitorPassword: "modelCacheMonitorPassword",
  maxmemory: "modelCacheMaxmemory",
  maxmemoryPolicy: "modelCacheMaxmemoryPolicy",
  exporter: "modelCacheExporter",
  /** Required when `exporter` is true. */
  exporterUrl: "modelCacheExporterUrl",
} as const;

/**
 * Commands the orchestrator's user must be refused, each sent in a form that would do no harm
 * if the ACL let it through (a bad argument, a pattern that matches nothing): the suite must
 * never be what breaks the cache it checks.
 */
export const DENIED_COMMANDS: readonly (readonly string[])[] = [
  ["FLUSHALL", "okome-validate-bad-argument"],
  ["FLUSHDB", "okome-validate-bad-argument"],
  ["CONFIG", "GET", "maxmemory"],
  ["CONFIG", "SET", "okome-validate-no-such-setting", "1"],
  ["DEBUG", "okome-validate-no-such-subcommand"],
  ["SHUTDOWN", "okome-validate-bad-argument"],
  ["KEYS", "okome:validate:no-such-key:*"],
  ["MONITOR"],
  ["INFO", "server"],
  ["ACL", "LIST"],
  ["SCRIPT", "FLUSH", "okome-validate-bad-argument"],
  ["CLIENT", "KILL", "ID", "0"],
  ["SET", "not-okome:validate", "1"],
];

/**
 * What a check that sends a write the ACL must refuse would write if the ACL let it through: the
 * other denied commands are sent in a form that fails anyway, a SET cannot be.
 */
const WRITE_IF_LET_THROUGH = "a key okome:validate:* or not-okome:validate, if the ACL let it";

export interface Node {
  readonly host: string;
  readonly port: number;
}

export function client(node: Node, user?: string, password?: string): Redis {
  const redis = new Redis({
    host: node.host,
    port: node.port,
    username: user,
    password,
    // The application users may not run INFO, which ioredis's ready check sends.
    enableReadyCheck: false,
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Failures surface through the commands and connect(); the event would only be noise.
  redis.on("error", () => undefined);
  return redis;
}

/** Resolves with the error a command fails with, or throws if it succeeds. */
async function refusal(redis: Redis, args: readonly string[]): Promise<string> {
  try {
    await redis.call(args[0], ...args.slice(1));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error(`${args.join(" ")} succeeded`);
}

function expectPrefix(actual: string, ...prefixes: string[]): void {
  if (!prefixes.some((p) => actual.startsWith(p)))
    throw new Error(`expected ${prefixes.join(" or ")}, got: ${actual}`);
}

/** One entry of COMMAND's reply: name, arity, flags, ..., and (index 9) the subcommands, same shape. */
type CommandInfo = [string, number, string[], ...unknown[]];

/**
 * The commands `user` may run (`config|get` for a subcommand), by asking ACL DRYRUN about every
 * command and subcommand the server has (COMMAND), each with as many placeholder arguments as
 * its arity needs. Read-only: DRYRUN runs nothing.
 */
export async function allowedCommands(redis: Redis, user: string): Promise<string[]> {
  const table = (await redis.call("COMMAND")) as CommandInfo[];
  const leaves = table
    .flatMap((c) => {
      const subcommands = (c[9] ?? []) as CommandInfo[];
      return subcommands.length > 0 ? subcommands : [c];
    })
    // AUTH, HELLO, QUIT, RESET: Redis lets every connection run them, whatever its ACL says.
    .filter((c) => !(c[2] as string[]).includes("no_auth"));
  const pipeline = redis.pipeline();
  for (const [name, arity] of leaves) {
    const argv = name.split("|");
    while (argv.length < Math.abs(arity)) argv.push("okome-validate");
    pipeline.call("ACL", "DRYRUN", user, ...argv);
  }
  const replies = (await pipeline.exec()) ?? [];
  return leaves
    .filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === "OK")
    .map(([name]) => name)
    .sort();
}

async function configValue(redis: Redis, name: string): Promise<string> {
  const reply = (await redis.call("CONFIG", "GET", name)) as string[];
  if (reply.length !== 2) throw new Error(`CONFIG GET ${name} returned ${JSON.stringify(reply)}`);
  return reply[1];
}

/**
 * The model cache: authentication, ACL, memory policy and persistence of the live Redis. Three
 * checks write (a test key, and two SETs the ACL must refuse): they run only with --active.
 */
export const modelCacheModule: ValidationModule = {
  name: "model-cache",
  async run(outputs: StackOutputs, check) {
    const o = MODEL_CACHE_OUTPUTS;
    const node = { host: stringOutput(outputs, o.address), port: integerOutput(outputs, o.port) };
    const user = stringOutput(outputs, o.user);
    const app = client(node, user, stringOutput(outputs, o.password));
    const monitor = client(
      node,
      stringOutput(outputs, o.monitorUser),
      stringOutput(outputs, o.monitorPassword),
    );
    const opened = [app, monitor];
    const fresh = (u?: string, p?: string) => {
      const c = client(node, u, p);
      opened.push(c);
      return c;
    };
    try {
      await check(`${user} logs in on ${node.host}:${node.port}`, async () => {
        await app.connect();
        await app.ping();
      });
      await check(
        `${user} writes a key and reads it back`,
        async () => {
          const key = `okome:validate:${process.pid}:${Date.now()}`;
          await app.set(key, "ok", "PX", 60_000);
          const got = await app.get(key);
          await app.del(key);
          if (got !== "ok") throw new Error(`read back ${JSON.stringify(got)}`);
        },
        { writes: "a test key okome:validate:* (deleted, 60 s TTL)" },
      );
      await check("a connection without AUTH is refused", async () => {
        const anonymous = fresh();
        await anonymous.connect();
        expectPrefix(await refusal(anonymous, ["GET", "okome:validate"]), "NOAUTH");
      });
      await check(`a wrong password for ${user} is refused`, async () => {
        const anonymous = fresh();
        await anonymous.connect();
        expectPrefix(
          await refusal(anonymous, ["AUTH", user, "okome-validate-wrong-password"]),
          "WRONGPASS",
        );
      });
      await check("the default user is disabled", async () => {
        const anonymous = fresh();
        await anonymous.connect();
        expectPrefix(await refusal(anonymous, ["AUTH", "default", ""]), "WRONGPASS");
      });

      await check("the monitor user logs in", () => monitor.connect());
      const wantBytes = parseRedisSize(stringOutput(outputs, o.maxmemory));
      await check(`maxmemory is ${outputs[o.maxmemory]} (${wantBytes} bytes)`, async () => {
        const have = await configValue(monitor, "maxmemory");
        if (Number(have) !== wantBytes) throw new Error(`running server has ${have}`);
      });
      await check(`maxmemory-policy is ${outputs[o.maxmemoryPolicy]}`, async () => {
        const have = await configValue(monitor, "maxmemory-policy");
        if (have !== outputs[o.maxmemoryPolicy]) throw new Error(`running server has ${have}`);
      });
      await check("persistence is off: no RDB save points, no AOF", async () => {
        const [save, aof] = [
          await configValue(monitor, "save"),
          await configValue(monitor, "appendonly"),
        ];
        if (save !== "" || aof !== "no") throw new Error(`save "${save}", appendonly ${aof}`);
      });
      await check("protected-mode is on", async () => {
        const have = await configValue(monitor, "protected-mode");
        if (have !== "yes") throw new Error(`protected-mode ${have}`);
      });
      await check(
        "the monitor user cannot write keys",
        async () => {
          expectPrefix(await refusal(monitor, ["SET", "okome:validate:monitor", "1"]), "NOPERM");
        },
        { writes: WRITE_IF_LET_THROUGH },
      );

      const admin = RESERVED_USERS.admin;
      const adminCommands = [...ADMIN_COMMANDS].sort();
      await check(`${admin} may run exactly ${adminCommands.join(", ")}`, async () => {
        const have = await allowedCommands(monitor, admin);
        if (have.join() !== adminCommands.join()) throw new Error(`it may run ${have.join(", ")}`);
      });

      for (const args of DENIED_COMMANDS) {
        const shown =
          args[0] === "SET"
            ? "SET outside okome:*"
            : args.slice(0, args[0] === "CONFIG" ? 2 : 1).join(" ");
        await check(
          `${user} is refused ${shown}`,
          async () => {
            // A fresh connection each: MONITOR, if ever let through, would take the connection over.
            const c = fresh(user, stringOutput(outputs, o.password));
            await c.connect();
            // Redis refuses DEBUG (enable-debug-command no) before it asks the ACL.
            expectPrefix(
              await refusal(c, args),
              "NOPERM",
              ...(args[0] === "DEBUG" ? ["ERR DEBUG command not allowed"] : []),
            );
          },
          args[0] === "SET" ? { writes: WRITE_IF_LET_THROUGH } : {},
        );
      }

      if (booleanOutput(outputs, o.exporter)) {
        const exporterUrl = stringOutput(outputs, o.exporterUrl);
        await check(`the exporter at ${exporterUrl} reports redis_up 1`, async () => {
          const res = await fetch(exporterUrl, { signal: AbortSignal.timeout(5000) });
          const body = await res.text();
          if (!/^redis_up 1$/m.test(body))
            throw new Error(`HTTP ${res.status}, no "redis_up 1" line`);
        });
      }
    } finally {
      opened.forEach((c) => c.disconnect());
    }
  },
};
