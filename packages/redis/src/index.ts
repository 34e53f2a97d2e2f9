import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "@herd/logger";

export { Redis } from "ioredis";

/**
 * Why three roles:
 * - `command`: the API's connection. It must fail fast (no offline queue) so a Redis outage
 *   becomes a 503 with Retry-After instead of requests hanging until a client timeout.
 * - `blocking`: BullMQ workers and QueueEvents. BullMQ requires `maxRetriesPerRequest: null` and
 *   an offline queue so blocking reads resume by themselves after a reconnect.
 * - `cache`: a cache miss is always an acceptable answer, so commands give up quickly.
 */
export type RedisRole = "command" | "blocking" | "cache";

export interface CreateRedisOptions {
  url: string;
  role: RedisRole;
  /** Shown in CLIENT LIST, helps when counting connections on a managed Redis. */
  connectionName?: string;
  logger: Logger;
  /** Per-command timeout for the cache role. */
  commandTimeoutMs?: number;
}

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  command: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  blocking: { enableOfflineQueue: true, maxRetriesPerRequest: null },
  cache: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
};

/** Reconnect quickly at first, then every 2 s at most: outages in tests and deploys are short. */
function retryStrategy(attempt: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
}

export function createRedisClient(options: CreateRedisOptions): Redis {
  const client = new Redis(options.url, {
    ...ROLE_OPTIONS[options.role],
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(options.role === "cache" ? { commandTimeout: options.commandTimeoutMs ?? 500 } : {}),
    retryStrategy,
    // A replica promoted during failover answers READONLY until the client reconnects to the primary.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
    lazyConnect: false,
  });
  attachErrorLogging(client, options.logger.child({ redis: options.role, url: redactUrl(options.url) }));
  return client;
}

/**
 * An ioredis client without an `error` listener crashes the process on the first connection
 * error. Log the first error of an outage and the recovery, not every reconnect attempt.
 */
function attachErrorLogging(client: Redis, logger: Logger): void {
  let failing = false;
  client.on("error", (error: Error) => {
    if (!failing) logger.warn({ err: error }, "redis connection error");
    failing = true;
  });
  client.on("ready", () => {
    if (failing) logger.info("redis connection restored");
    failing = false;
  });
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(invalid url)";
  }
}

/** Resolves when the client is ready or rejects after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error(`redis not ready after ${timeoutMs}ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}

/** Closes a client politely, falling back to a hard disconnect when Redis is unreachable. */
export async function closeRedis(client: Redis, timeoutMs = 1000): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().then(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // quit() rejects when the connection drops mid-command; disconnect below finishes the job.
  } finally {
    if (timer) clearTimeout(timer);
    if (statusOf(client) !== "end") client.disconnect();
  }
}

function statusOf(client: Redis): string {
  return client.status;
}

/** `{herd}` style hash tag used as the key prefix for BullMQ and every Herd key. */
export function hashTag(prefix: string): string {
  return `{${prefix}}`;
}

/** Streams whose writes are held until the end of the current event-loop turn. */
const heldStreams = new WeakSet<object>();

/**
 * Holds `client`'s writes until the current turn of the event loop ends, so the commands issued
 * in it reach Redis in one system call instead of one each. A socket write that wakes another
 * process is costly on a busy host (in a worker's CPU profile under load, its five writes per job
 * were a third of its CPU time), and Redis then reads, runs and answers them in one go. Order is
 * unchanged. ioredis's `enableAutoPipelining` does the same for every command; this is for the
 * few places that know several commands go out together (a job's result, its reply and its
 * completion).
 */
export function writeTogether(client: Redis): void {
  const stream = client.stream as (NodeJS.WritableStream & { cork(): void; uncork(): void; destroyed?: boolean }) | undefined;
  if (client.status !== "ready" || !stream || stream.destroyed || heldStreams.has(stream)) return;
  heldStreams.add(stream);
  stream.cork();
  setImmediate(() => {
    heldStreams.delete(stream);
    stream.uncork();
  });
}
