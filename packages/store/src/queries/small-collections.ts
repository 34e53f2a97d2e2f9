import type { Queryable } from "../database.js";

/**
 * Collections with fewer chunks than this are searched exactly (see SearchInput.exact): measured
 * 7.5 ms p50 for 3,000 and for 5,000 768-d chunks against 2.5-3 ms through the HNSW index, slower
 * but within the search goal (10 ms), and its results are exact and do not depend on how the
 * graph was built.
 */
export const EXACT_SEARCH_MAX_CHUNKS = 5000;

/**
 * Which collections are small, read with a count that stops at the limit and remembered for
 * `ttlMs`: a collection that grows past the limit is searched exactly for at most that long more.
 */
export class SmallCollections {
  readonly #known = new Map<number, { small: boolean; at: number }>();

  constructor(
    private readonly maxChunks = EXACT_SEARCH_MAX_CHUNKS,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async isSmall(db: Queryable, collectionId: number): Promise<boolean> {
    const known = this.#known.get(collectionId);
    if (known && this.now() - known.at < this.ttlMs) return known.small;
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM (SELECT 1 FROM chunks WHERE collection_id = $1 LIMIT $2) s", [collectionId, this.maxChunks]);
    const small = (rows[0]?.n ?? 0) < this.maxChunks;
    this.#known.set(collectionId, { small, at: this.now() });
    return small;
  }
}
