export { HerdClient, type HerdClientOptions, type WaitOptions } from "./client.js";
export { HerdError } from "./errors.js";
export type * from "./types.js";
export { FORGOTTEN_INGESTION_PATIENCE_MS, IngestionReader, type IngestionReaderOptions } from "./ingestion-reader.js";
