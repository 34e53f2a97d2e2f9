import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { testEnv } from "./env.js";
import { freePort } from "./ports.js";
import { RedisExitedError, spawnRedis } from "./redis-process.js";

/** A key prefix unique to one test file, so suites never see each other's queues. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString("hex")}`;
}

export function testRedis(url = testEnv.TEST_REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on("error", () => undefined);
  return client;
}

/**
 * Counts `client`'s socket writes from now until `restore()`: `single` for one buffer written,
 * `batched` the buffer count of each vectored write (each is one system call on a local
 * connection, and wakes Redis once).
 */
export function countSocketWrites(client: Redis): { counts: { single: number; batched: number[] }; restore: () => void } {
  const socket = client.stream as Socket & { _write: Socket["_write"]; _writev: NonNullable<Socket["_writev"]> };
  const counts = { single: 0, batched: [] as number[] };
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: Parameters<Socket["_write"]>) {
    counts.single += 1;
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, ...args: Parameters<NonNullable<Socket["_writev"]>>) {
    counts.batched.push(args[0].length);
    return writev.apply(this, args);
  };
  return {
    counts,
    restore: () => {
      socket._write = write;
      socket._writev = writev;
    },
  };
}

/** Deletes every key under `{prefix}` (SCAN, never KEYS). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${prefix}}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

/** Sends `signal` to `child` unless it has already exited, and waits for it to exit. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/**
 * A private redis-server on its own port, for tests that stop and restart Redis (never the
 * shared one). AOF with `everysec`, as production runs it.
 */
export class RedisServer {
  #process: ChildProcess | undefined;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "herd-redis-"));
  }

  /**
   * `extraArgs` come last and so override the defaults (e.g. `--maxmemory-policy allkeys-lru`).
   * Without a `port`, one is picked, and picked again if another process takes it first.
   */
  static async start(port?: number, extraArgs: readonly string[] = []): Promise<RedisServer> {
    for (let attempt = 1; ; attempt += 1) {
      const server = new RedisServer(port ?? (await freePort()), extraArgs);
      try {
        await server.restart();
        return server;
      } catch (error) {
        rmSync(server.dir, { recursive: true, force: true });
        if (port !== undefined || !(error instanceof RedisExitedError) || attempt >= 5) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    if (this.#process && this.#process.exitCode === null && this.#process.signalCode === null) return;
    this.#process = await spawnRedis(this.port, ["--dir", this.dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction", ...this.extraArgs]);
  }

  /** SIGTERM: Redis writes its AOF and exits. `crash` sends SIGKILL instead (nothing flushed). */
  async stop(crash = false): Promise<void> {
    if (this.#process) await stopProcess(this.#process, crash ? "SIGKILL" : "SIGTERM");
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
