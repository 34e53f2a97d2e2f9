import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { ApiConfig } from "@herd/config";
import { CacheStatsPublisher, HerdCache } from "@herd/cache";
import { ParsePool } from "@herd/ingest";
import { InstanceDescriptions } from "@herd/fleet";
import { herdKeys } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";
import { closeRedis, COMMAND_TIMEOUT_MS, createRedisClient, type RedisClient } from "@herd/redis";
import { ChunkStatistics, migrate, openDatabase, type Database } from "@herd/store";
import { AdminBoard } from "./admin.js";
import { FleetView } from "./fleet-view.js";
import { IngestProcessor } from "./ingest/processor.js";
import { IngestionProgress } from "./ingest/progress.js";
import { IngestRecovery } from "./ingest/recovery.js";
import { InstanceProber } from "./instance-prober.js";
import { FleetInstances } from "./dropin/instances.js";
import { ApiKeys, ConcurrencyQuota } from "@herd/access";
import { JobStore } from "./job-store.js";
import { createApiMetrics, type ApiMetrics } from "./metrics.js";
import { QueueDepth } from "./queue-depth.js";
import { QueueRegistry } from "./queues.js";
import { Replies } from "./replies.js";
import { createExpressServer } from "./http-server.js";
import { createServer } from "./server.js";

export interface ApiRuntime {
  app: Express;
  metrics: ApiMetrics;
  queues: QueueRegistry;
  fleet: FleetView;
  db: Database;
  ingest: IngestProcessor;
  ingestRecovery: IngestRecovery;
  listen(port?: number, host?: string): Promise<{ server: Server; url: string }>;
  close(): Promise<void>;
}

/**
 * Builds the API's resources in order: Redis, cache, queues and fleet view, the database
 * (migrated; embedded PGlite when DATABASE_URL is unset), the ingest processor, the express app.
 * `close()` releases them in reverse, within a deadline.
 */
export async function createApiRuntime(config: ApiConfig, logger: Logger): Promise<ApiRuntime> {
  const queueRedis = { url: config.redisUrl, cluster: config.redisCluster };
  // A submit's WAIT for replicas blocks up to the replication timeout: the deadline leaves it room.
  const commandTimeoutMs = Math.max(COMMAND_TIMEOUT_MS, config.replication.timeoutMs + 1_000);
  const redis = createRedisClient({ ...queueRedis, role: "command", logger, connectionName: "herd-api", commandTimeoutMs });
  const cacheRedis: RedisClient =
    config.cacheRedisUrl === config.redisUrl ? redis : createRedisClient({ url: config.cacheRedisUrl, cluster: config.cacheRedisCluster, role: "cache", logger, connectionName: "herd-api-cache" });
  const cache = new HerdCache({ redis: cacheRedis, prefix: config.prefix, ttlSeconds: config.cacheTtlSeconds, memory: config.cacheMemory, logger });
  const keys = herdKeys(config.prefix);
  const replies = new Replies(queueRedis, keys, logger);
  const queues = new QueueRegistry(redis, queueRedis, config.prefix, logger, replies);
  const admin = new AdminBoard(config.admin, queues);
  const fleet = new FleetView(redis, config.prefix, config.fleetRefreshMs, logger, (snapshot) => admin.sync(snapshot));
  const store = new JobStore(redis, queues, keys, config.jobs.retentionMs);
  const progress = new IngestionProgress(redis, keys);
  const db = await openDatabase({ url: config.database.url, embeddedDataDir: config.database.embeddedDataDir, poolMax: config.database.poolMax, logger });
  const applied = await migrate(db.pool, undefined, (message) => logger.warn(message));
  if (applied.length > 0) logger.info({ applied, embedded: db.embedded }, "database migrated");
  if (Object.keys(config.modelOptions).length > 0) logger.info({ modelOptions: config.modelOptions }, "runner options and keep_alive pinned per model (HERD_MODEL_OPTIONS): they replace what requests ask for");
  const metrics = createApiMetrics({ cache, queues, fleet, redis, cacheRedis, db, logger });
  const parsePool = new ParsePool(config.ingest.parseThreads, undefined, config.ingest.parseMemoryBytes, config.ingest.parseTimeoutMs);
  const chunkStatistics = new ChunkStatistics(db.pool, (error) => logger.warn({ err: coerceError(error) }, "could not ANALYZE the chunks table; keyword search goes on with its older statistics"));
  const ingestConnection = createRedisClient({ ...queueRedis, role: "blocking", logger, connectionName: "herd-api-ingest" });
  const ingest = new IngestProcessor({
    db,
    redis,
    connection: ingestConnection,
    cache,
    queues,
    keys,
    parsePool,
    progress,
    retention: config.jobs,
    modelOptions: config.modelOptions,
    concurrency: config.ingest.concurrency,
    lockDurationMs: config.ingest.lockDurationMs,
    stalledIntervalMs: config.ingest.stalledIntervalMs,
    metrics: metrics.ingest,
    statistics: chunkStatistics,
    logger,
  });
  const ingestRecovery = new IngestRecovery({
    db,
    redis,
    keys,
    queues,
    progress,
    fleet,
    retention: config.jobs,
    embedBatch: config.ingest.embedBatch,
    config,
    metrics: metrics.ingest,
    logger,
    ...config.ingest.recovery,
  });
  const prober = new InstanceProber();
  const instances = new FleetInstances(fleet, prober, new InstanceDescriptions(redis, config.prefix), logger);
  const apiKeys = config.auth.mode === "keys" ? new ApiKeys(redis, config.prefix, config.auth.cacheMs) : undefined;
  if (!apiKeys) logger.warn({ host: config.host }, "open mode: no API key is checked (HERD_AUTH=open, loopback only)");
  const cacheStats = new CacheStatsPublisher(cache, redis, keys.cacheStats, logger);
  cacheStats.start();
  const app = createServer({ config, redis, cache, queues, fleet, store, depth: new QueueDepth(), db, progress, metrics, jobMetrics: metrics.jobs, keys, prober, admin, instances, apiKeys, ...(apiKeys ? { quota: new ConcurrencyQuota(redis, config.prefix) } : {}), logger });
  fleet.start();
  ingestRecovery.start();
  let server: Server | undefined;

  return {
    app,
    metrics,
    queues,
    fleet,
    db,
    ingest,
    ingestRecovery,
    async listen(port = config.port, host = config.host) {
      server = await new Promise<Server>((resolve, reject) => {
        const listening = createExpressServer(app);
        listening.once("error", reject);
        listening.listen(port, host, () => {
          listening.off("error", reject);
          resolve(listening);
        });
      });
      // Long polls hold requests open up to the wait cap; keep-alive outlives common proxies' 60 s.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      server.requestTimeout = config.limits.maxWaitMs + 30_000;
      const address = server.address() as AddressInfo;
      return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}` };
    },
    async close() {
      const steps: Array<[string, () => Promise<unknown> | void]> = [
        ["http server", () => closeServer(server)],
        ["ingest recovery", () => ingestRecovery.close()],
        ["ingest processor", () => ingest.close()],
        ["chunk statistics", () => chunkStatistics.close()],
        ["parse pool", () => parsePool.close()],
        ["fleet view", () => fleet.close()],
        ["instance prober", () => prober.close()],
        ["cache statistics", () => cacheStats.close()],
        ["queues", () => queues.close()],
        ["replies", () => replies.close()],
        ["database", () => db.close()],
        ["ingest redis", () => closeRedis(ingestConnection)],
        ["cache redis", () => (cacheRedis === redis ? undefined : closeRedis(cacheRedis))],
        ["redis", () => closeRedis(redis)],
      ];
      const deadline = Date.now() + config.shutdownTimeoutMs;
      for (const [name, step] of steps) {
        const remaining = Math.max(100, deadline - Date.now());
        try {
          await Promise.race([step(), new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${remaining}ms`)), remaining).unref())]);
        } catch (error) {
          logger.warn({ err: coerceError(error), step: name }, "shutdown step failed");
        }
      }
    },
  };
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Long-polling requests would hold close() for up to the wait cap; they get cut after a grace period.
  const grace = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(grace);
}
