import { intEnv, optionalUrlEnv, stringEnv } from "./primitives.js";

/** Where Herd's documents and chunks live; shared by the API and `herd migrate`. */
export const databaseEnvShape = {
  /** Postgres with pgvector; unset runs the embedded PGlite server with data under HERD_DATA_DIR. */
  DATABASE_URL: optionalUrlEnv(["postgres:", "postgresql:"]),
  DATABASE_POOL_MAX: intEnv(10, { min: 1, max: 200 }),
  HERD_DATA_DIR: stringEnv(".herd"),
};

export interface DatabaseConfig {
  url: string | undefined;
  poolMax: number;
  embeddedDataDir: string;
}

export function toDatabaseConfig(env: { DATABASE_URL: string | undefined; DATABASE_POOL_MAX: number; HERD_DATA_DIR: string }): DatabaseConfig {
  return { url: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX, embeddedDataDir: `${env.HERD_DATA_DIR.replace(/\/+$/, "")}/pglite` };
}
