import type pg from "pg";

/** autovacuum's default analyze threshold: rows changed past this base plus this share of the table. */
const ANALYZE_BASE_ROWS = 50;
const ANALYZE_SHARE = 0.1;

/**
 * Keeps the planner statistics of the chunks table current as ingestion writes it. Keyword
 * search reads them to leave out and to match by terms (COMMON_TERM_ROWS, MATCH_TERM_SHARE);
 * before the table's first ANALYZE every term counts as rare. PostgreSQL's autovacuum analyzes
 * a table once changes pass 50 rows plus 10% of it, at most once a minute, but the embedded
 * server (PGlite) runs no autovacuum, and a server may have it off: there keyword search never
 * pruned a term. This runs ANALYZE by the same rule, counting the chunk rows this process wrote;
 * with autovacuum on as well, whichever comes first does it.
 */
export class ChunkStatistics {
  #written = 0;
  #rows: number | undefined;
  #analyzedAt: number | undefined;
  #running: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    /** Called when an ANALYZE fails (it is tried again after the next write). */
    private readonly onError: (error: unknown) => void,
    /**
     * Least time between two ANALYZEs (autovacuum_naptime's default): one costs about 80 ms per
     * thousand chunks here (the tsvector's detailed statistics), and analyzing at every 10% of
     * growth would analyze a table growing from nothing to 100,000 chunks about 80 times.
     */
    private readonly minIntervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts `rows` chunk rows written (inserted, updated or deleted); analyzes when due. */
  recordWrites(rows: number): Promise<boolean> {
    this.#written += rows;
    return this.refreshIfDue();
  }

  /**
   * Runs ANALYZE when the writes since the last one pass 50 rows plus 10% of the table; within
   * minIntervalMs of the last one, it runs when that interval ends instead. Resolves true when
   * it analyzed now.
   */
  refreshIfDue(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#running ??= this.#refresh().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #refresh(): Promise<boolean> {
    try {
      this.#rows ??= await this.#tableRows();
      if (this.#written <= ANALYZE_BASE_ROWS + ANALYZE_SHARE * this.#rows) return false;
      const wait = this.#analyzedAt === undefined ? 0 : this.#analyzedAt + this.minIntervalMs - this.now();
      if (wait > 0) {
        this.#later(wait);
        return false;
      }
      const written = this.#written;
      await this.pool.query("ANALYZE chunks");
      this.#analyzedAt = this.now();
      this.#written -= written;
      this.#rows = await this.#tableRows();
      return true;
    } catch (error) {
      this.onError(error);
      return false;
    }
  }

  #later(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.refreshIfDue();
    }, ms);
    // A pending ANALYZE never keeps a process alive; close() cancels it.
    this.#timer.unref();
  }

  /** Cancels a deferred ANALYZE and waits for one in progress (before the pool closes under it). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** The table's size as of its last ANALYZE or VACUUM (0 before the first). */
  async #tableRows(): Promise<number> {
    const { rows } = await this.pool.query<{ rows: number }>("SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'chunks'::regclass");
    return rows[0]?.rows ?? 0;
  }
}
