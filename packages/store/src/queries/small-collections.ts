import type { Queryable } from "../database.js";

/**
 * Collections with fewer chunks than this are searched exactly (see SearchInput.exact). An exact
 * scan costs about 1 ms per thousand 768-d chunks here (the search benchmark's exact baseline: 92 ms
 * for 100,000), so below this size it is about as fast as the HNSW index, and its results are exact
 * and do not depend on how the graph was built.
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
