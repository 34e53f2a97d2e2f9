import { z } from "zod";
import { databaseEnvShape, toDatabaseConfig, type DatabaseConfig } from "./database.js";
import { enumEnv, urlEnv } from "./primitives.js";

/** Settings of the `herd` commands that talk to a running API. */
export const CliEnv = z.object({
  HERD_URL: urlEnv("http://127.0.0.1:8008", ["http:", "https:"]),
});

export interface CliConfig {
  url: string;
}

export function toCliConfig(env: z.output<typeof CliEnv>): CliConfig {
  return { url: env.HERD_URL };
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
