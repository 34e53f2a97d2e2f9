import { z } from "zod";
import { databaseEnvShape, toDatabaseConfig, type DatabaseConfig } from "./database.js";
import { InstancesEnv, type ResolvedInstance } from "./instances.js";
import { ModelOptionsEnv, type PinnedModelOptions } from "./model-options.js";
import { durationMsEnv, enumEnv, urlEnv } from "./primitives.js";
import { cacheRedisOf, sharedEnvShape } from "./shared.js";

/** Settings of the `herd` commands that talk to a running API. */
export const CliEnv = z.object({
  HERD_URL: urlEnv("http://127.0.0.1:8008", ["http:", "https:"]),
  /** Sent as Authorization: Bearer; not needed when the API runs in open mode. */
  HERD_API_KEY: z.string().trim().min(1).optional(),
});

export interface CliConfig {
  url: string;
  apiKey: string | undefined;
}

export function toCliConfig(env: z.output<typeof CliEnv>): CliConfig {
  return { url: env.HERD_URL, apiKey: env.HERD_API_KEY };
}

/** Settings of `herd migrate`, which talks to the database directly. */
export const MigrateEnv = z.object({
  ...databaseEnvShape,
  LOG_LEVEL: enumEnv(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "warn"),
});

export interface MigrateConfig {
  database: DatabaseConfig;
  logLevel: z.output<typeof MigrateEnv>["LOG_LEVEL"];
}

export function toMigrateConfig(env: z.output<typeof MigrateEnv>): MigrateConfig {
  return { database: toDatabaseConfig(env), logLevel: env.LOG_LEVEL };
}

/** Settings of `herd doctor`: everything a deployment talks to, read the way the API and workers read it. */
export const DoctorEnv = z.object({
  REDIS_URL: sharedEnvShape.REDIS_URL,
  HERD_REDIS_CLUSTER: sharedEnvShape.HERD_REDIS_CLUSTER,
  HERD_CACHE_REDIS_URL: sharedEnvShape.HERD_CACHE_REDIS_URL,
  HERD_CACHE_REDIS_CLUSTER: sharedEnvShape.HERD_CACHE_REDIS_CLUSTER,
  HERD_PREFIX: sharedEnvShape.HERD_PREFIX,
  ...databaseEnvShape,
  /** The instances to check; when empty, those the live workers report in their heartbeats. */
  HERD_INSTANCES: InstancesEnv,
  /** The API's pinned runner options: each pinned model should be on an instance (a typo pins nothing). */
  HERD_MODEL_OPTIONS: ModelOptionsEnv,
  HERD_DOCTOR_TIMEOUT: durationMsEnv(3000, { min: 100, max: 60_000 }),
});

export interface DoctorConfig {
  redisUrl: string;
  redisCluster: boolean;
  cacheRedisUrl: string;
  cacheRedisCluster: boolean;
  prefix: string;
  database: DatabaseConfig;
  instances: ResolvedInstance[];
  modelOptions: PinnedModelOptions;
  timeoutMs: number;
}

export function toDoctorConfig(env: z.output<typeof DoctorEnv>): DoctorConfig {
  return {
    redisUrl: env.REDIS_URL,
    redisCluster: env.HERD_REDIS_CLUSTER,
    ...cacheRedisOf(env),
    prefix: env.HERD_PREFIX,
    database: toDatabaseConfig(env),
    instances: env.HERD_INSTANCES,
    modelOptions: env.HERD_MODEL_OPTIONS,
    timeoutMs: env.HERD_DOCTOR_TIMEOUT,
  };
}

/** Settings of `herd keys`: the Redis where API keys live. */
export const KeysEnv = z.object({
  REDIS_URL: sharedEnvShape.REDIS_URL,
  HERD_REDIS_CLUSTER: sharedEnvShape.HERD_REDIS_CLUSTER,
  HERD_PREFIX: sharedEnvShape.HERD_PREFIX,
});

export function toKeysConfig(env: z.output<typeof KeysEnv>): { redisUrl: string; redisCluster: boolean; prefix: string } {
  return { redisUrl: env.REDIS_URL, redisCluster: env.HERD_REDIS_CLUSTER, prefix: env.HERD_PREFIX };
}
