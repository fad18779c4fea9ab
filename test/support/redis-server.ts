import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports";

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port to listen on; default: a free ephemeral port. With `configFile`, the file's port. */
  readonly port?: number;
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "64mb"]`. */
  readonly args?: readonly string[];
  /** Binary to run. Default `$REDIS_SERVER` or `redis-server` from PATH. */
  readonly binary?: string;
  /** How long to wait for "Ready to accept connections", in ms. Default `10000`. */
  readonly startTimeoutMs?: number;
  /**
   * A redis.conf to run instead of the throw-away settings (port, 127.0.0.1, no persistence,
   * a temp dir, log on stdout): the file says where Redis listens, keeps data and logs.
   */
  readonly configFile?: string;
  /** The `logfile` that `configFile` sets, where Redis says it is ready; default: stdout. */
  readonly logFile?: string;
  /** Runs Redis as this user (Debian's `redis`, as on the hosts); needs root. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

const READY = "Ready to accept connections";

/**
 * A throw-away redis-server on 127.0.0.1: no persistence, its own temp dir, stopped by PID.
 * `stop()` then `start()` brings it back on the same port (to test reconnects).
 */
export class RedisServer {
  readonly host = "127.0.0.1";
  private child: ChildProcess | undefined;
  /** The throw-away server's data dir; none when a config file says where. */
  private readonly dir: string | undefined;
  private readonly killOnExit = (): void => {
    if (this.child?.pid !== undefined && this.child.exitCode === null) this.child.kill("SIGKILL");
  };

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    if (!options.configFile) this.dir = fs.mkdtempSync(join(tmpdir(), "okome-redis-"));
  }

  /** PID of the running server, or undefined while stopped. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (options.configFile && options.port === undefined)
      throw new Error("RedisServer: a configFile needs the port it sets");
    // A port found free can be taken before redis binds it; try a few.
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options);
      try {
        await server.start();
        return server;
      } catch (err) {
        server.cleanup();
        if (options.port !== undefined || attempt >= 5) throw err;
      }
    }
  }

  /** Starts the server (again) on its port; resolves once Redis says it accepts connections. */
  async start(): Promise<void> {
    if (this.pid !== undefined) return;
    const { binary, configFile, logFile, user } = this.options;
    const args = configFile
      ? [configFile, "--daemonize", "no", "--supervised", "no"]
      : [
          "--port", String(this.port),
          "--bind", this.host,
          "--save", "",
          "--appendonly", "no",
          "--dir", this.dir!,
          "--logfile", "",
        ]; // prettier-ignore
    args.push(...(this.options.args ?? []));
    // Only what this run logs: a restart appends to the same log file.
    const logStart = logFile && fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const child = spawn(binary ?? process.env.REDIS_SERVER ?? "redis-server", args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...user,
    });
    this.child = child;
    process.on("exit", this.killOnExit);
    let output = "";
    const collect = (chunk: Buffer): void => void (output += chunk.toString());
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    let failure: string | undefined;
    child.once("error", (err) => (failure ??= `failed to start: ${err.message}`));
    const log = () =>
      logFile && fs.existsSync(logFile)
        ? output + fs.readFileSync(logFile).subarray(logStart).toString()
        : output;
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (!log().includes(READY)) {
      if (child.exitCode !== null) failure ??= `exited with ${child.exitCode}`;
      else if (Date.now() > deadline) failure ??= `not ready after ${timeoutMs} ms`;
      if (failure !== undefined) {
        if (child.exitCode === null) child.kill("SIGKILL");
        process.off("exit", this.killOnExit);
        const what = configFile ?? `port ${this.port}`;
        throw new Error(`redis-server on ${what} ${failure}\n${log().slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.stdout!.off("data", collect).resume();
    child.stderr!.off("data", collect).resume();
  }

  /** Stops the server by PID (SIGTERM, then SIGKILL after 5 s); keeps its port for `start()`. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    process.off("exit", this.killOnExit);
  }

  /** Stops the server and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a throw-away redis-server; see {@link RedisServer}. */
export function startRedisServer(options?: RedisServerOptions): Promise<RedisServer> {
  return RedisServer.start(options);
}
