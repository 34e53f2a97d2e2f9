import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { createCluster, type RedisClient, type RedisTarget } from "@herd/redis";

/**
 * A connection for a few commands from a command-line tool: short timeouts, no reconnects, no
 * offline queue. Rejects with the real cause (ioredis itself only says "Connection is closed.").
 * The caller disconnects it.
 */
export async function connectOnce(target: RedisTarget | string, timeoutMs: number): Promise<RedisClient> {
  const { url, cluster } = typeof target === "string" ? { url: target, cluster: false } : target;
  const options: RedisOptions = { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false };
  const client: RedisClient = cluster ? createCluster(url, options, { clusterRetryStrategy: () => null }) : new Redis(url, options);
  let cause: Error | undefined;
  // Errors surface through connect() and the commands; the event only tells why.
  client.on("error", (error: Error) => (cause ??= error));
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw cause ?? error;
  }
}

/** One PING with a short timeout and no reconnects. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  let client: RedisClient | undefined;
  try {
    client = await connectOnce(url, timeoutMs);
    return (await client.ping()) === "PONG";
  } catch {
    // Not answering is the answer.
    return false;
  } finally {
    client?.disconnect();
  }
}

export function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export function isLocalRedis(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host === "[::1]";
}

/**
 * Starts a redis-server for the queue, configured the way BullMQ needs it in production:
 * `noeviction` and an append-only file, data kept under the project's data directory.
 */
export function startLocalRedis(url: string, dataDir: string): ChildProcess {
  const port = new URL(url).port || "6379";
  const dir = join(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  return spawn(
    "redis-server",
    ["--port", port, "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"],
    // Its own process group, like herd start's other children (see start.ts): stopped last, by us.
    { stdio: ["ignore", "ignore", "inherit"], detached: true },
  );
}

/**
 * Whether the Redis answering at `url` is one `startLocalRedis` started on this data directory and
 * its `herd start` left behind (killed outright, it could not stop it). Redis says where its data
 * lives and its pid; a Redis that does not (CONFIG disabled, say) is someone else's, and one whose
 * herd start still runs is that herd start's to stop.
 */
export async function isOurLeftoverRedis(url: string, dataDir: string, timeoutMs = 1000): Promise<boolean> {
  let client: RedisClient | undefined;
  try {
    client = await connectOnce(url, timeoutMs);
    const reply = (await client.call("CONFIG", "GET", "dir")) as string[];
    if (reply[1] === undefined || reply[1] !== realpathSync(join(dataDir, "redis"))) return false;
    const pid = /^process_id:(\d+)/m.exec(await client.info("server"))?.[1];
    // Started by a herd start that still runs (a second one beside it, say): that one stops it.
    return pid !== undefined && !startedByLiveHerdStart(Number(pid));
  } catch {
    // Not ours to know, so not ours to stop.
    return false;
  } finally {
    client?.disconnect();
  }
}

/** Whether process `pid`'s parent is a `herd start` of this checkout (a leftover's parent is init). */
function startedByLiveHerdStart(pid: number): boolean {
  const ask = (args: string[]) => spawnSync("ps", args, { encoding: "utf8" });
  const parent = ask(["-o", "ppid=", "-p", String(pid)]);
  if (parent.status !== 0) throw new Error(`ps could not tell the parent of process ${pid}`);
  const command = ask(["-o", "args=", "-p", parent.stdout.trim()]);
  const cli = process.argv[1];
  return command.status === 0 && cli !== undefined && command.stdout.includes(cli) && /\sstart\b/.test(command.stdout);
}

/** Stops a Redis `herd start` took over: SHUTDOWN writes its append-only file before it exits. */
export async function shutdownRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const client = await connectOnce(url, timeoutMs);
  try {
    await client.call("SHUTDOWN");
  } catch (error) {
    // Success is the connection closing under the command; a refusal is a reply.
    if (error instanceof Error && error.name === "ReplyError") throw error;
  } finally {
    client.disconnect();
  }
}

export const NO_REDIS_HELP = `No Redis answers at the configured REDIS_URL and redis-server is not installed.
Herd needs Redis 6.2 or newer. Either:
  - install it:            sudo apt-get install redis-server   (Debian/Ubuntu)   or   brew install redis   (macOS)
  - or run it in Docker:   docker run -d -p 6379:6379 redis:7-alpine --maxmemory-policy noeviction
  - or point Herd at one:  REDIS_URL=redis://host:6379 npm start`;
