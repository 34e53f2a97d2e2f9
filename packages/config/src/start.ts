import { z } from "zod";
import { InstancesEnv, type ResolvedInstance } from "./instances.js";
import { DEFAULT_REDIS_URL } from "./shared.js";
import { isLoopback } from "./api.js";
import { intEnv, optionalPortEnv, optionalSecretEnv, stringEnv, urlEnv } from "./primitives.js";

/** Settings of `herd start`, the all-in-one launcher; the API and workers it starts parse their own. */
export const StartEnv = z.object({
  REDIS_URL: urlEnv(DEFAULT_REDIS_URL, ["redis:", "rediss:"]),
  PORT: intEnv(8008, { min: 0, max: 65_535 }),
  HOST: stringEnv("127.0.0.1"),
  HERD_INSTANCES: InstancesEnv,
  /** Worker processes to start. */
  HERD_WORKERS: intEnv(1, { min: 1, max: 64 }),
  /** Emulated Ollama instances started when HERD_INSTANCES is empty. */
  HERD_EMULATOR_INSTANCES: intEnv(2, { min: 1, max: 64 }),
  HERD_EMULATOR_BASE_PORT: intEnv(11_500, { min: 1, max: 65_000 }),
  /** Slots per generation model on each emulated instance (embedding models always get 1). */
  HERD_EMULATOR_SLOTS: intEnv(2, { min: 1, max: 64 }),
  /** Where a Redis started by `herd start` keeps its data. */
  HERD_DATA_DIR: stringEnv(".herd"),
  /** Metrics port of the first worker; the others take the next ones ("off": none). */
  HERD_METRICS_PORT: optionalPortEnv(9464),
  /** Read only to tell where Bull Board is; the API validates them again. */
  HERD_ADMIN_USER: stringEnv("admin"),
  HERD_ADMIN_PASSWORD: optionalSecretEnv(12),
  /** Unset: open (no API keys) while HOST is loopback, keys otherwise. The API checks it again. */
  HERD_AUTH: z.enum(["keys", "open"], { error: 'expected "keys" or "open"' }).optional(),
});

export interface StartConfig {
  redisUrl: string;
  port: number;
  host: string;
  instances: ResolvedInstance[];
  workers: number;
  emulator: { instances: number; basePort: number; slots: number };
  dataDir: string;
  metricsBasePort: number | undefined;
  /** The Bull Board user, when the admin UI is enabled. */
  adminUser: string | undefined;
  /** Whether the API this starts checks API keys. */
  auth: "keys" | "open";
}

export function toStartConfig(env: z.output<typeof StartEnv>): StartConfig {
  return {
    redisUrl: env.REDIS_URL,
    port: env.PORT,
    host: env.HOST,
    instances: env.HERD_INSTANCES,
    workers: env.HERD_WORKERS,
    emulator: { instances: env.HERD_EMULATOR_INSTANCES, basePort: env.HERD_EMULATOR_BASE_PORT, slots: env.HERD_EMULATOR_SLOTS },
    dataDir: env.HERD_DATA_DIR,
    metricsBasePort: env.HERD_METRICS_PORT,
    adminUser: env.HERD_ADMIN_PASSWORD === undefined ? undefined : env.HERD_ADMIN_USER,
    auth: env.HERD_AUTH ?? (isLoopback(env.HOST) ? "open" : "keys"),
  };
}
