import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { Logger } from "@herd/logger";
import { execAll } from "./batch.js";

export { Cluster, Redis } from "ioredis";
export { execAll, causeOfAbort } from "./batch.js";
export { isOutOfMemory } from "./refusals.js";
export { publishOn, subscribeOn } from "./pubsub.js";
export { readClockOffset, clockSkewed, describeOffset, CLOCK_SKEW_WARN_MS, type ClockReading } from "./clock.js";

/**
 * A connection to a single Redis (or a managed endpoint that looks like one) or to a Redis
 * Cluster. Every key Herd and BullMQ write carries the `{prefix}` hash tag, so on a cluster they
 * all live in one slot and multi-key commands and scripts work unchanged.
 */
export type RedisClient = Redis | Cluster;

/**
 * Why three roles:
 * - `command`: the API's connection. It must fail fast (no offline queue, and a deadline on every
 *   command) so a Redis outage becomes a 503 with Retry-After instead of requests hanging until a
 *   client timeout. Without the deadline, requests in flight when a cluster master was killed
 *   stayed unanswered for over 25 s in 1 of 8 runs of the failover test (none in 36 with it).
 * - `blocking`: BullMQ workers and QueueEvents. BullMQ requires `maxRetriesPerRequest: null` and
 *   an offline queue so blocking reads resume by themselves after a reconnect.
 * - `cache`: a cache miss is always an acceptable answer, so commands give up quickly.
 */
export type RedisRole = "command" | "blocking" | "cache";

/** Where a Redis is: its URL and whether it is a node of a Redis Cluster (see CreateRedisOptions). */
export interface RedisTarget {
  url: string;
  /**
   * `url` names one node of a Redis Cluster: the client discovers the others and follows the
   * cluster's redirections. A single-node client pointed at a cluster fails with MOVED as soon as
   * the hash tag's slot lives on another node.
   */
  cluster?: boolean;
}

export interface CreateRedisOptions extends RedisTarget {
  role: RedisRole;
  /** Shown in CLIENT LIST, helps when counting connections on a managed Redis. */
  connectionName?: string;
  logger: Logger;
  /** Per-command deadline of the command and cache roles (defaults: COMMAND_TIMEOUT_MS, 500 ms). */
  commandTimeoutMs?: number;
  /**
   * The connection subscribes to channels (see subscribeOn): on a cluster it gets a subscriber
   * per master for sharded pub/sub, and the subscription lives on the channel slot's master.
   */
  subscriber?: boolean;
}

/** The command role's default deadline: far above any command Herd sends it, short next to a client's patience. */
export const COMMAND_TIMEOUT_MS = 5_000;

const ROLE_TIMEOUT_MS: Record<RedisRole, number | undefined> = { command: COMMAND_TIMEOUT_MS, blocking: undefined, cache: 500 };

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  command: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  blocking: { enableOfflineQueue: true, maxRetriesPerRequest: null },
  cache: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
};

/**
 * A blocking-role client on a cluster waits out a failover, as the offline queue of a single
 * node's client waits out its restart: a command meeting CLUSTERDOWN, TRYAGAIN, a closed
 * connection or MOVED is sent again, up to about 20 s (ioredis's default gives up after 16 tries
 * 100 ms apart, before a replica whose master timed out is promoted). A worker storing a finished
 * job's result then succeeds once the replica takes over, where failing would leave the job to sit
 * until its lock lapsed and then run again. The API's command role fails fast instead (503).
 */
const CLUSTER_RIDE_OUT: Partial<ClusterOptions> = { maxRedirections: 80, retryDelayOnClusterDown: 250, retryDelayOnTryAgain: 250, retryDelayOnFailover: 250, retryDelayOnMoved: 50 };

/** Reconnect quickly at first, then every 2 s at most: outages in tests and deploys are short. */
function retryStrategy(attempt: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
}

export function createRedisClient(options: CreateRedisOptions): RedisClient {
  const redisOptions: RedisOptions = {
    ...ROLE_OPTIONS[options.role],
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(ROLE_TIMEOUT_MS[options.role] !== undefined ? { commandTimeout: options.commandTimeoutMs ?? ROLE_TIMEOUT_MS[options.role] } : {}),
    retryStrategy,
    // A replica promoted during failover answers READONLY until the client reconnects to the primary.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
    lazyConnect: false,
  };
  const client = options.cluster
    ? createCluster(options.url, redisOptions, {
        clusterRetryStrategy: retryStrategy,
        ...(options.role === "blocking" ? CLUSTER_RIDE_OUT : {}),
        ...(options.subscriber ? { shardedSubscribers: true } : {}),
      })
    : new Redis(options.url, redisOptions);
  attachErrorLogging(client, options.logger.child({ redis: options.role, url: redactUrl(options.url), ...(options.cluster ? { cluster: true } : {}) }));
  return client;
}

/**
 * A cluster client entering through the node `url` names (its credentials and TLS apply to every
 * node). `redisOptions` are a single client's: the offline queue and lazy connect move to the
 * cluster, the rest applies to each node's connection.
 */
export function createCluster(url: string, redisOptions: RedisOptions, extra: Omit<ClusterOptions, "redisOptions"> = {}): Cluster {
  const parsed = new URL(url);
  const tls = parsed.protocol === "rediss:";
  const { enableOfflineQueue, lazyConnect, ...nodeOptions } = redisOptions;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue,
    lazyConnect,
    ...extra,
    redisOptions: {
      ...nodeOptions,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(tls ? { tls: { servername: parsed.hostname } } : {}),
    },
    // Managed clusters behind TLS announce node addresses that must be dialled as given (their
    // certificates name those hosts), not resolved again.
    ...(tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
  };
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], clusterOptions);
}

/**
 * An ioredis client without an `error` listener crashes the process on the first connection
 * error. Log the first error of an outage and the recovery, not every reconnect attempt.
 */
function attachErrorLogging(client: RedisClient, logger: Logger): void {
  let failing = false;
  const onError = (error: Error) => {
    if (!failing) logger.warn({ err: error }, "redis connection error");
    failing = true;
  };
  client.on("error", onError);
  // A cluster reports each node's connection errors apart from its own.
  if (client instanceof Cluster) client.on("node error", onError);
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
export async function waitForRedis(client: RedisClient, timeoutMs: number): Promise<void> {
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
export async function closeRedis(client: RedisClient, timeoutMs = 1000): Promise<void> {
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

function statusOf(client: RedisClient): string {
  return client.status;
}

/**
 * Redis WAIT for the writes `client` has sent so far on the connection that serves `key`: resolves
 * with the number of replicas that acknowledged them within `timeoutMs`. WAIT names no key, so a
 * cluster client would send it to any node; in a pipeline behind a command on `key` it goes to
 * that key's node, on the connection that made the writes.
 */
export async function waitForReplicas(client: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<number> {
  if (!(client instanceof Cluster)) return client.wait(replicas, timeoutMs);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const [, acknowledged] = await execAll(client.pipeline().exists(key).wait(replicas, timeoutMs));
      return Number(acknowledged);
    } catch (error) {
      // The key's slot has just moved (a failover or resharding the client has not heard of): the
      // pipeline went to its old owner, whose WAIT counted the wrong node's replicas, and ioredis
      // does not send a pipeline again once one of its writes (WAIT) succeeded. A lone keyed
      // command follows the redirection and teaches the client the slot's owner; then ask again.
      if (attempt >= 3 || !(error instanceof Error) || !/^(MOVED|ASK) /.test(error.message)) throw error;
      await client.exists(key);
    }
  }
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
 * completion). On a cluster it does nothing: the commands go out on a node's connection, which
 * the cluster client picks per command.
 */
export function writeTogether(client: RedisClient): void {
  if (client instanceof Cluster) return;
  const stream = client.stream as (NodeJS.WritableStream & { cork(): void; uncork(): void; destroyed?: boolean }) | undefined;
  if (client.status !== "ready" || !stream || stream.destroyed || heldStreams.has(stream)) return;
  heldStreams.add(stream);
  stream.cork();
  setImmediate(() => {
    heldStreams.delete(stream);
    stream.uncork();
  });
}
