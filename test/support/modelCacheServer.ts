import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import {
  MODEL_CACHE_PATHS,
  ModelCacheSpec,
  RESERVED_USERS,
  passwordSha256,
  passwordUsers,
  renderModelCache,
  renderModelCacheSecrets,
  resolveModelCacheArgs,
} from "../../components/modelCache";
import { REDIS } from "../../components/platform";
import { freePort } from "./ports";
import { RedisServer } from "./redis-server";

/**
 * A test-only ACL user that may read and reset the ACL log (which no managed user may), so a
 * test can assert that nothing was denied. Appended to the rendered users.acl.
 */
export const ACL_LOG_READER = "okome-test-acl-log";

/** Passwords of the users a {@link ModelCacheServer} renders, by user name. */
export type Passwords = Readonly<Record<string, string>>;

/**
 * A redis-server on loopback running the files ModelCacheNode renders, with the platform's
 * paths moved into a temp dir: the real redis.conf and users.acl, proven on real Redis 7.0.
 * Its host scripts are installed in `<dir>/sbin`, with `<dir>/redis.env` pointing them here.
 */
export class ModelCacheServer {
  private redis: RedisServer | undefined;

  private constructor(
    /** Temp dir holding every file; world-readable so the candidate can run as `redis`. */
    readonly dir: string,
    readonly port: number,
    readonly passwords: Passwords,
    readonly spec: ModelCacheSpec,
  ) {}

  /** Renders `spec` (host address and bind forced to 127.0.0.1, port to a free one) and starts it. */
  static async start(spec: Omit<ModelCacheSpec, "host" | "port">): Promise<ModelCacheServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-model-cache-"));
    fs.chmodSync(dir, 0o755);
    // Like on the hosts, Redis runs as the redis user, and so does the scripts' candidate.
    fs.chownSync(dir, redisUser().uid, redisUser().gid);
    const port = await freePort();
    const full: ModelCacheSpec = {
      ...spec,
      host: { name: "okome-model", address: "127.0.0.1" },
      bind: ["127.0.0.1"],
      port,
    };
    const users = [...passwordUsers(resolveModelCacheArgs(full).users), ACL_LOG_READER];
    const passwords = Object.fromEntries(
      users.map((u) => [u, `${u}-${Math.random().toString(36).slice(2)}`]),
    );
    const server = new ModelCacheServer(dir, port, passwords, full);
    try {
      server.install();
      await server.start();
    } catch (e) {
      await server.dispose();
      throw e;
    }
    return server;
  }

  /** Where a platform path of the rendered files lives in this server's temp dir. */
  local(platformPath: string): string {
    return path.join(this.dir, path.basename(platformPath));
  }

  /** The rendered files with platform paths rewritten into the temp dir, written there. */
  install(spec: ModelCacheSpec = this.spec, passwords: Passwords = this.passwords): void {
    const hashes = Object.fromEntries(
      Object.entries(passwords).map(([u, p]) => [u, passwordSha256(p)]),
    );
    const files = renderModelCache(spec, hashes);
    const secrets = renderModelCacheSecrets(spec, {
      adminPassword: passwords[RESERVED_USERS.admin],
      monitorPassword: passwords[RESERVED_USERS.monitor],
    });
    const moved: [string, string][] = [
      [REDIS.unixSocket, this.local(REDIS.unixSocket)],
      [REDIS.pidFile, this.local(REDIS.pidFile)],
      [REDIS.logFile, this.local(REDIS.logFile)],
      [REDIS.dataDir, path.join(this.dir, "data")],
      [REDIS.aclFile, this.local(REDIS.aclFile)],
      [REDIS.configFile, this.local(REDIS.configFile)],
      [MODEL_CACHE_PATHS.adminSecret, this.local(MODEL_CACHE_PATHS.adminSecret)],
      [MODEL_CACHE_PATHS.adminAcceptedSecret, this.local(MODEL_CACHE_PATHS.adminAcceptedSecret)],
      [MODEL_CACHE_PATHS.restartSettings, this.local(MODEL_CACHE_PATHS.restartSettings)],
      ["/usr/local/sbin", path.join(this.dir, "sbin")],
    ];
    const rewrite = (text: string) => moved.reduce((t, [from, to]) => t.split(from).join(to), text);
    fs.mkdirSync(path.join(this.dir, "data"), { recursive: true });
    fs.chownSync(path.join(this.dir, "data"), redisUser().uid, redisUser().gid);
    fs.mkdirSync(path.join(this.dir, "sbin"), { recursive: true });
    const aclLogReader = `user ${ACL_LOG_READER} on #${hashes[ACL_LOG_READER]} -@all +acl|log\n`;
    for (const f of [...files.scripts, ...files.config, ...files.restart, ...secrets.config]) {
      const target = f.path.startsWith("/usr/local/sbin/")
        ? path.join(this.dir, "sbin", path.basename(f.path))
        : this.local(f.path);
      const content = f.path === REDIS.aclFile ? f.content + aclLogReader : f.content;
      fs.writeFileSync(target, f.path.startsWith("/usr/local/sbin/") ? content : rewrite(content));
      fs.chmodSync(
        target,
        f.path.startsWith("/usr/local/sbin/") ? 0o755 : f.secret ? 0o600 : 0o644,
      );
    }
  }

  /** Starts redis-server as the redis user on the installed redis.conf; resolves once it is ready. */
  async start(): Promise<void> {
    this.redis = await RedisServer.start({
      port: this.port,
      configFile: this.local(REDIS.configFile),
      logFile: this.local(REDIS.logFile),
      user: redisUser(),
    });
  }

  /** PID of the running server (a restart would change it). */
  get pid(): number | undefined {
    return this.redis?.pid;
  }

  /** A client logged in as `user` (no ready check: application users may not run INFO). */
  client(user?: string, port = this.port): Redis {
    return new Redis({
      host: "127.0.0.1",
      port,
      username: user,
      password: user === undefined ? undefined : this.passwords[user],
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
  }

  /** Environment for the host scripts: their environment file (redis.env) points into the temp dir. */
  scriptEnv(): NodeJS.ProcessEnv {
    return { ...process.env, OKOME_REDIS_ENV: this.local(MODEL_CACHE_PATHS.scriptsEnv) };
  }

  /**
   * Stops the server by its PID (and one a script restarted, by the PID in its pidfile) and
   * removes the temp dir.
   */
  async dispose(): Promise<void> {
    await this.redis?.dispose();
    const pidFile = this.local(REDIS.pidFile);
    if (fs.existsSync(pidFile)) {
      const pid = Number(fs.readFileSync(pidFile, "utf8"));
      const cwd = `/proc/${pid}/cwd`;
      // Only a redis-server in this dir (its `dir`): a stale pidfile's PID may be another process's.
      if (fs.existsSync(cwd) && fs.readlinkSync(cwd).startsWith(this.dir))
        process.kill(pid, "SIGKILL");
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let redisIds: { uid: number; gid: number } | undefined;

/** uid and gid of the `redis` user (Debian's redis-server package creates it); needs root to use. */
function redisUser(): { uid: number; gid: number } {
  if (process.getuid?.() !== 0)
    throw new Error("ModelCacheServer runs Redis as the redis user: run the tests as root");
  redisIds ??= {
    uid: Number(execFileSync("id", ["-u", "redis"], { encoding: "utf8" })),
    gid: Number(execFileSync("id", ["-g", "redis"], { encoding: "utf8" })),
  };
  return redisIds;
}
