import type pg from "pg";

/**
 * Keeps the planner statistics of the chunks table current as ingestion writes it. Keyword
 * search reads them to leave out and to match by terms (COMMON_TERM_ROWS, MATCH_TERM_SHARE);
 * before the table's first ANALYZE every term counts as rare. PostgreSQL's autovacuum analyzes
 * a table once changes pass 50 rows plus 10% of it, but the embedded server (PGlite) runs no
 * autovacuum, and a server may have it off: there keyword search never pruned a term. This runs
 * ANALYZE by the same rule, counting the chunk rows this process wrote; with autovacuum on as
 * well, whichever comes first does it.
 */
export class ChunkStatistics {
  #written = 0;
  #rows: number | undefined;
  #running: Promise<boolean> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    /** Called when an ANALYZE fails (it is tried again after the next write). */
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Counts `rows` chunk rows written (inserted, updated or deleted); analyzes when due. */
  recordWrites(rows: number): Promise<boolean> {
    this.#written += rows;
    return this.refreshIfDue();
  }

  /** Runs ANALYZE when the writes since the last one pass 50 rows plus 10% of the table. */
  async refreshIfDue(): Promise<boolean> {
    if (this.#running) return this.#running;
    this.#running = this.#refresh().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #refresh(): Promise<boolean> {
    try {
      this.#rows ??= await this.#tableRows();
      if (this.#written <= 50 + 0.1 * this.#rows) return false;
      const written = this.#written;
      await this.pool.query("ANALYZE chunks");
      this.#written -= written;
      this.#rows = await this.#tableRows();
      return true;
    } catch (error) {
      this.onError(error);
      return false;
    }
  }

  /** Waits for an ANALYZE in progress (before the pool closes under it). */
  async close(): Promise<void> {
    await this.#running;
  }

  /** The table's size as of its last ANALYZE or VACUUM (0 before the first). */
  async #tableRows(): Promise<number> {
    const { rows } = await this.pool.query<{ rows: number }>("SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'chunks'::regclass");
    return rows[0]?.rows ?? 0;
  }
}
