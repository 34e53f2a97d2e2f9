import { parseArgs } from "node:util";
import { MigrateEnv, loadConfig, toMigrateConfig, type EnvSource } from "@herd/config";
import { createLogger } from "@herd/logger";
import { loadMigrations, migrate, openDatabase } from "@herd/store";

export const MIGRATE_USAGE = `Usage: herd migrate

Applies pending database migrations to DATABASE_URL (or the embedded database under HERD_DATA_DIR)
and exits. The API also migrates at start-up; this command is for deploys that migrate first.`;

/** `herd migrate`: returns the exit code (0 ok; failures throw and exit non-zero). */
export async function runMigrate(argv: string[], env: EnvSource, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: "boolean" } } });
  if (values.help) {
    out.write(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  const config = loadConfig(MigrateEnv, toMigrateConfig, env);
  const logger = createLogger({ name: "herd-migrate", level: config.logLevel, format: "json" });
  const db = await openDatabase({ ...config.database, logger });
  try {
    const applied = await migrate(db.pool, undefined, (message) => logger.warn(message));
    const latest = loadMigrations().at(-1);
    const target = db.embedded ? `embedded database (${config.database.embeddedDataDir})` : "DATABASE_URL";
    out.write(
      applied.length > 0
        ? `applied migrations ${applied.join(", ")} to ${target}\n`
        : `${target} is up to date (migration ${latest?.version ?? 0}${latest ? `_${latest.name}` : ""})\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
