import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port to listen on; default: a free ephemeral port. */
  readonly port?: number;
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "64mb"]`. */
  readonly args?: readonly string[];
  /** Binary to run. Default `$REDIS_SERVER` or `redis-server` from PATH. */
  readonly binary?: string;
  /** How long to wait for "Ready to accept connections", in ms. Default `10000`. */
  readonly startTimeoutMs?: number;
}

/**
 * A throw-away redis-server on 127.0.0.1: no persistence, its own temp dir, stopped by PID.
 * `stop()` then `start()` brings it back on the same port (to test reconnects).
 */
export class RedisServer {
  readonly host = "127.0.0.1";
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "okome-redis-"));
  private readonly killOnExit = (): void => {
    if (this.child?.pid !== undefined && this.child.exitCode === null) this.child.kill("SIGKILL");
  };

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  /** PID of the running server, or undefined while stopped. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
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

  /** Starts the server (again) on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.pid !== undefined) return;
    const binary = this.options.binary ?? process.env.REDIS_SERVER ?? "redis-server";
    const args = [
      "--port", String(this.port),
      "--bind", this.host,
      "--save", "",
      "--appendonly", "no",
      "--dir", this.dir,
      "--logfile", "",
      ...(this.options.args ?? []),
    ]; // prettier-ignore
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    process.on("exit", this.killOnExit);
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const fail = (why: string): void => {
        clearTimeout(timer);
        if (child.exitCode === null) child.kill("SIGKILL");
        reject(new Error(`redis-server on port ${this.port} ${why}\n${log.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      const onError = (err: Error): void => fail(`failed to start: ${err.message}`);
      const onExit = (code: number | null): void => fail(`exited with ${code}`);
      const onStderr = (chunk: Buffer): void => void (log += chunk.toString());
      const onStdout = (chunk: Buffer): void => {
        log += chunk.toString();
        if (!log.includes("Ready to accept connections")) return;
        clearTimeout(timer);
        child.off("error", onError).off("exit", onExit);
        child.stdout!.off("data", onStdout).resume();
        child.stderr!.off("data", onStderr).resume();
        resolve();
      };
      child.once("error", onError).once("exit", onExit);
      child.stdout!.on("data", onStdout);
      child.stderr!.on("data", onStderr);
    });
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a throw-away redis-server; see {@link RedisServer}. */
export function startRedisServer(options?: RedisServerOptions): Promise<RedisServer> {
  return RedisServer.start(options);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}
