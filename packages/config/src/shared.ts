import { z } from "zod";
import { boolEnv, bytesEnv, durationMsEnv, enumEnv, intEnv, optionalBoolEnv, optionalUrlEnv, stringEnv, ttlEnv, urlEnv } from "./primitives.js";

const REDIS_PROTOCOLS = ["redis:", "rediss:"] as const;
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * The prefix becomes a Redis Cluster hash tag (`{herd}`), so every queue, flow and Herd key lands
 * in one slot: flows and multi-key commands keep working on a cluster or a managed Redis.
 */
const prefixEnv = stringEnv("herd").pipe(
  z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, "letters, digits, '_' or '-' only (it becomes a {hash tag})"),
);

export const sharedEnvShape = {
  REDIS_URL: urlEnv(DEFAULT_REDIS_URL, REDIS_PROTOCOLS),
  /** REDIS_URL names one node of a Redis Cluster (the client discovers the rest). */
  HERD_REDIS_CLUSTER: boolEnv(false),
  /** Cache Redis; defaults to REDIS_URL. Point it at an LRU-configured Redis in production. */
  HERD_CACHE_REDIS_URL: optionalUrlEnv(REDIS_PROTOCOLS),
  /** HERD_CACHE_REDIS_URL names a node of a Redis Cluster; without that URL, HERD_REDIS_CLUSTER applies. */
  HERD_CACHE_REDIS_CLUSTER: optionalBoolEnv(),
  HERD_PREFIX: prefixEnv,
  HERD_CACHE_EMBEDDING_TTL: ttlEnv(7 * 86_400),
  HERD_CACHE_INFERENCE_TTL: ttlEnv(86_400),
  HERD_CACHE_CHUNK_TTL: ttlEnv(30 * 86_400),
  /** In-process memory tier in front of the cache Redis, for hot keys ("off" to disable). */
  HERD_CACHE_MEMORY: bytesEnv(64 * 1024 * 1024),
  HERD_CACHE_MEMORY_TTL: durationMsEnv(60_000, { min: 0, max: 86_400_000 }),
  /** How long finished jobs (and their results) stay pollable. */
  HERD_JOB_RETENTION: durationMsEnv(3_600_000, { min: 1000 }),
  HERD_JOB_RETENTION_COUNT: intEnv(10_000, { min: 1 }),
  HERD_JOB_ATTEMPTS: intEnv(5, { min: 1, max: 50 }),
  HERD_JOB_BACKOFF: durationMsEnv(250, { min: 1, max: 600_000 }),
  LOG_LEVEL: enumEnv(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
  LOG_FORMAT: enumEnv(["auto", "json", "pretty"] as const, "auto"),
};

export interface SharedConfig {
  redisUrl: string;
  redisCluster: boolean;
  cacheRedisUrl: string;
  cacheRedisCluster: boolean;
  prefix: string;
  cacheTtlSeconds: { embedding: number; inference: number; chunk: number };
  cacheMemory: { maxBytes: number; ttlMs: number };
  jobs: { retentionMs: number; retentionCount: number; attempts: number; backoffMs: number };
  log: { level: string; format: "auto" | "json" | "pretty" };
}

interface SharedEnv {
  REDIS_URL: string;
  HERD_REDIS_CLUSTER: boolean;
  HERD_CACHE_REDIS_URL?: string | undefined;
  HERD_CACHE_REDIS_CLUSTER?: boolean | undefined;
  HERD_PREFIX: string;
  HERD_CACHE_EMBEDDING_TTL: number;
  HERD_CACHE_INFERENCE_TTL: number;
  HERD_CACHE_CHUNK_TTL: number;
  HERD_CACHE_MEMORY: number;
  HERD_CACHE_MEMORY_TTL: number;
  HERD_JOB_RETENTION: number;
  HERD_JOB_RETENTION_COUNT: number;
  HERD_JOB_ATTEMPTS: number;
  HERD_JOB_BACKOFF: number;
  LOG_LEVEL: string;
  LOG_FORMAT: "auto" | "json" | "pretty";
}

/** The cache Redis: its own URL (and cluster flag), or the queue Redis. */
export function cacheRedisOf(env: Pick<SharedEnv, "REDIS_URL" | "HERD_REDIS_CLUSTER" | "HERD_CACHE_REDIS_URL" | "HERD_CACHE_REDIS_CLUSTER">): { cacheRedisUrl: string; cacheRedisCluster: boolean } {
  if (env.HERD_CACHE_REDIS_URL === undefined) return { cacheRedisUrl: env.REDIS_URL, cacheRedisCluster: env.HERD_REDIS_CLUSTER };
  return { cacheRedisUrl: env.HERD_CACHE_REDIS_URL, cacheRedisCluster: env.HERD_CACHE_REDIS_CLUSTER ?? false };
}

export function toSharedConfig(env: SharedEnv): SharedConfig {
  return {
    redisUrl: env.REDIS_URL,
    redisCluster: env.HERD_REDIS_CLUSTER,
    ...cacheRedisOf(env),
    prefix: env.HERD_PREFIX,
    cacheTtlSeconds: {
      embedding: env.HERD_CACHE_EMBEDDING_TTL,
      inference: env.HERD_CACHE_INFERENCE_TTL,
      chunk: env.HERD_CACHE_CHUNK_TTL,
    },
    cacheMemory: { maxBytes: env.HERD_CACHE_MEMORY, ttlMs: env.HERD_CACHE_MEMORY_TTL },
    jobs: {
      retentionMs: env.HERD_JOB_RETENTION,
      retentionCount: env.HERD_JOB_RETENTION_COUNT,
      attempts: env.HERD_JOB_ATTEMPTS,
      backoffMs: env.HERD_JOB_BACKOFF,
    },
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT },
  };
}
