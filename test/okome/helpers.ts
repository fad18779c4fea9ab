import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type Redis from "ioredis";
import type { RunMessage, WorkerReply } from "./fixtures/stampede-worker";

/** Resolves once `redis` is ready (the offline queue is off, so tests wait for it first). */
export function whenReady(redis: Redis): Promise<void> {
  return redis.status === "ready"
    ? Promise.resolve()
    : new Promise((resolve) => redis.once("ready", () => resolve()));
}

/** Polls `check` every 20 ms until it is true, failing after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A stampede worker process (tsx), spoken to over IPC. */
export class Worker {
  readonly child: ChildProcess;
  private readonly replies: WorkerReply[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(redisPort: number) {
    this.child = fork(join(__dirname, "fixtures", "stampede-worker.ts"), [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, OKOME_TEST_REDIS_PORT: String(redisPort) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const wakeAll = () => this.waiters.splice(0).forEach((wake) => wake());
    this.child.on("message", (m: WorkerReply) => {
      this.replies.push(m);
      wakeAll();
    });
    // A waiter on a reply that will never come fails at once instead of at mocha's timeout.
    this.child.on("exit", wakeAll);
  }

  run(m: Omit<RunMessage, "type">): void {
    this.child.send({ type: "run", ...m });
  }

  /** The first reply of `type`, waiting for it if need be; rejects if the worker exits first. */
  async next<T extends WorkerReply["type"]>(type: T): Promise<Extract<WorkerReply, { type: T }>> {
    for (;;) {
      const found = this.replies.find((r) => r.type === type);
      if (found) return found as Extract<WorkerReply, { type: T }>;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`worker ${this.child.pid} exited before sending "${type}"`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Asks the worker to exit; SIGKILLs it by PID if it has not after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.connected) child.send({ type: "exit" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
