import type { HerdClient } from "./client.js";
import { HerdError } from "./errors.js";
import type { IngestionSummary } from "./types.js";

/**
 * How long an ingestion known to exist may stay unknown to the API: the API rebuilds a record its
 * Redis lost within its recovery interval plus the pending age it waits for (6 minutes with the
 * defaults; README, ingestion recovery).
 */
export const FORGOTTEN_INGESTION_PATIENCE_MS = 15 * 60_000;

export interface IngestionReaderOptions {
  /** How long an ingestion may read 404 before that is an error (default 15 minutes). */
  patienceMs?: number;
  /** Called once each time an ingestion starts reading 404. */
  onForgotten?: (id: string) => void;
}

/**
 * Reads the progress of ingestions this caller knows exist (it uploaded them). A 404 for one then
 * means the API's Redis lost its record (restarted without persistence): the documents are in the
 * database, and the API's recovery pass queues them again and rebuilds the record. So for a while
 * a 404 is not an error: `read` gives the last reading instead, or undefined before the first.
 */
export class IngestionReader {
  readonly #last = new Map<string, IngestionSummary>();
  readonly #forgottenSince = new Map<string, number>();
  readonly #patienceMs: number;

  constructor(
    private readonly client: HerdClient,
    private readonly options: IngestionReaderOptions = {},
  ) {
    this.#patienceMs = options.patienceMs ?? FORGOTTEN_INGESTION_PATIENCE_MS;
  }

  async read(id: string, init: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<IngestionSummary | undefined> {
    try {
      const summary = await this.client.ingestion(id, init);
      this.#forgottenSince.delete(id);
      this.#last.set(id, summary);
      return summary;
    } catch (error) {
      if (!(error instanceof HerdError && error.status === 404)) throw error;
      const since = this.#forgottenSince.get(id);
      if (since === undefined) {
        this.#forgottenSince.set(id, Date.now());
        this.options.onForgotten?.(id);
      } else if (Date.now() - since > this.#patienceMs) {
        throw new HerdError(404, error.code, `ingestion ${id} stayed unknown to the API for ${Math.round(this.#patienceMs / 60_000)} minutes (its Redis lost the record and it was not rebuilt); upload the same documents again to finish them (unchanged ones are skipped)`);
      }
      return this.#last.get(id);
    }
  }
}
