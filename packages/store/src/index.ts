export { openDatabase, inTransaction, isDatabaseUnavailable, startEmbeddedProcess, type Database, type DatabaseOptions, type Queryable } from "./database.js";
export { startEmbeddedServer, type EmbeddedServer } from "./embedded.js";
export { migrate, loadMigrations, MIGRATION_LOCK, type Migration } from "./migrate.js";
export * from "./queries/collections.js";
export * from "./queries/documents.js";
export * from "./queries/chunks.js";
export * from "./queries/search.js";
export * from "./queries/small-collections.js";
export { dataDirOwner } from "./data-dir-lock.js";
