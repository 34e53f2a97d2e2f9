import { createHash } from "node:crypto";
import type { SearchHit, SearchMode } from "@herd/jobs";
import type pg from "pg";
import { RRF_K, listsSql, searchParameters, searchSql, statementShape, toHit, type HitRow, type SearchInput } from "./search-sql.js";

export type { SearchHit, SearchMode, SearchInput };
export { COMMON_TERM_ROWS, MATCH_TERM_FLOOR, MATCH_TERM_SHARE, searchCandidates, searchParameters, searchSql, statementShape, type StatementShape } from "./search-sql.js";

/** pgvector's default hnsw.ef_search; an HNSW scan never returns more rows than this. */
const DEFAULT_EF_SEARCH = 40;

/**
 * The candidate lists are the same SQL for every mode; the mode only decides which of them
 * feed the fused score. Vectors use the collection's HNSW index (the cast and the collection
 * filter are literal so the partial index matches); keywords use an OR of the query's stemmed
 * words against the GIN-indexed tsvector, ranked by ts_rank_cd.
 *
 * Hybrid search on a pool of several connections runs the two lists as two statements at once
 * and fuses them here: PostgreSQL runs one statement on one core, and the two lists are
 * independent, so the search takes as long as the slower list instead of both in a row. Keyword
 * search there takes the same keyword path (see searchByLists). A pool of one connection (the
 * embedded server) runs the single statement that fuses in SQL.
 */
export async function searchChunks(pool: pg.Pool, mode: SearchMode, input: SearchInput, options: { parallel?: boolean } = {}): Promise<SearchHit[]> {
  const parallel = options.parallel ?? (pool.options.max ?? 10) > 1;
  if (mode !== "vector" && parallel) return searchByLists(pool, mode, input);
  if (mode === "keyword") return runSearch(pool, mode, input);
  return withEfSearch(pool, input.candidates, (client) => runSearch(client, mode, input));
}

const ROWS_BY_ID = `SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata
    FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::bigint[])`;

/**
 * A candidate list with the rows of its first k candidates: most winners of the fusion are among
 * them, and their rows come with the list instead of from a lookup after it (the row's heap page
 * is the one the list has just read).
 */
const listWithTopRows = (list: "vec" | "kw") => `SELECT l.id, l.rank, l.content_hash, r.external_id, r.ordinal, r.heading, r.text, r.metadata
    FROM ${list} l LEFT JOIN LATERAL (
      SELECT d.external_id, c.ordinal, c.heading, c.text, d.metadata FROM chunks c JOIN documents d ON d.id = c.document_id
       WHERE c.id = l.id AND l.rank <= $5::int) r ON true`;

/** The hnsw.ef_search each pooled connection was last given (a session setting). */
const efSearchOf = new WeakMap<pg.PoolClient, number>();

/**
 * Runs `work` on a pooled connection whose hnsw.ef_search is at least `candidates` (an HNSW scan
 * stops at ef_search rows whatever the LIMIT). Set per session and remembered, so the usual case
 * costs no round trip, unlike a transaction with SET LOCAL (four round trips).
 */
async function withEfSearch<T>(pool: pg.Pool, candidates: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const wanted = Math.max(DEFAULT_EF_SEARCH, Math.trunc(candidates));
  const client = await pool.connect();
  try {
    if (efSearchOf.get(client) !== wanted) {
      await client.query(`SET hnsw.ef_search = ${wanted}`);
      efSearchOf.set(client, wanted);
    }
    return await work(client);
  } finally {
    client.release();
  }
}

/**
 * Hybrid search as two concurrent statements (the vector list; the keyword list), or keyword
 * search as the keyword list alone, fused with the same formula and order as searchSql. Each
 * list brings the rows of its first k candidates; a winner ranked below k in both lists is
 * looked up after the fusion. The keyword side first turns the query into its tsqueries with a
 * prepared statement: reading the planner statistics goes through the pg_stats view, whose
 * parsing and rewriting cost more than the search itself, and a prepared statement pays that
 * once per connection (it does not depend on the collection).
 */
async function searchByLists(pool: pg.Pool, mode: "hybrid" | "keyword", input: SearchInput): Promise<SearchHit[]> {
  const shape = statementShape(input);
  const params = searchParameters(mode, input);
  const [vectorParam, queryParam, ...rest] = params;
  // Each statement is built for its own list's mode: the keyword side's CTEs read the planner
  // statistics through the pg_stats view, which PostgreSQL parses, rewrites and plans even in a
  // statement that never runs them (measured on 3,000 chunks: a vector list built with them took
  // 10.5 ms, of which its execution 5.2).
  // The keyword list takes the tsqueries the terms statement made of the query.
  const listOf = (list: "vec" | "kw") => `${listsSql(list === "vec" ? "vector" : "keyword", { ...shape, tsqueryParam: list === "kw" })} ${listWithTopRows(list)}`;
  const vectorList = () => withEfSearch(pool, input.candidates, async (client) => (await client.query<RankRow>(listOf("vec"), [vectorParam, "", ...rest])).rows);
  const keywordList = async () => {
    // Built for no collection: the terms do not depend on it, so one prepared statement serves all.
    const text = `${listsSql(mode, { ...shape, collectionId: 0, dimensions: 1, filtered: false, exact: false })} SELECT query::text AS query, match::text AS match FROM kw_query`;
    const { rows: [terms] } = await pool.query<{ query: string | null; match: string | null }>({ name: statementName("herd-search-terms", text), text, values: [null, queryParam, ...rest] });
    if (!terms?.query) return [];
    return (await pool.query<RankRow>(listOf("kw"), [null, terms.query, ...rest, terms.match])).rows;
  };
  const [vec, kw] = await Promise.all([mode === "hybrid" ? vectorList() : [], keywordList()]);
  const fused = new Map<string, { vectorRank: number | null; keywordRank: number | null; contentHash: string }>();
  const rowsById = new Map<string, ChunkRow>();
  for (const row of [...vec, ...kw]) if (row.external_id !== null) rowsById.set(row.id, { ...row, chunk_id: row.id, external_id: row.external_id });
  for (const row of vec) fused.set(row.id, { vectorRank: Number(row.rank), keywordRank: null, contentHash: row.content_hash });
  for (const row of kw) {
    const entry = fused.get(row.id);
    if (entry) entry.keywordRank = Number(row.rank);
    else fused.set(row.id, { vectorRank: null, keywordRank: Number(row.rank), contentHash: row.content_hash });
  }
  const rrf = (rank: number | null) => (rank === null ? 0 : 1 / (RRF_K + rank));
  const winners = [...fused]
    .map(([id, ranks]) => ({ id, ...ranks, score: rrf(ranks.vectorRank) + rrf(ranks.keywordRank) }))
    .sort((a, b) => b.score - a.score || compareText(a.contentHash, b.contentHash) || Number(a.id) - Number(b.id))
    .slice(0, input.k);
  const missing = winners.filter((winner) => !rowsById.has(winner.id)).map((winner) => winner.id);
  if (missing.length > 0) {
    const { rows } = await pool.query<ChunkRow>(ROWS_BY_ID, [missing]);
    for (const row of rows) rowsById.set(String(row.chunk_id), row);
  }
  return winners.flatMap((winner) => {
    const row = rowsById.get(winner.id);
    // A chunk deleted between the two steps drops out of the answer.
    if (!row) return [];
    return [toHit({ ...row, score: winner.score, vector_rank: winner.vectorRank, keyword_rank: winner.keywordRank })];
  });
}

/**
 * A prepared statement's name, one per distinct text. PostgreSQL truncates names to 63 bytes, so
 * two statements whose names share those bytes would collide on a connection ("prepared statement
 * already exists"); naming by a digest of the text keeps every name short and distinct.
 */
function statementName(prefix: string, text: string): string {
  return `${prefix}-${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
}

type ChunkRow = Omit<HitRow, "score" | "vector_rank" | "keyword_rank">;

/** A list's candidate; the row's columns are null below the list's first k. */
interface RankRow {
  id: string;
  rank: string;
  content_hash: string;
  external_id: string | null;
  ordinal: number;
  heading: string | null;
  text: string;
  metadata: Record<string, unknown>;
}

/** The order PostgreSQL's "C" collation gives (content hashes are hex, so every collation agrees). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function runSearch(db: pg.Pool | pg.PoolClient, mode: SearchMode, input: SearchInput): Promise<SearchHit[]> {
  const { rows } = await db.query<HitRow>(searchSql(mode, statementShape(input)), searchParameters(mode, input));
  return rows.map(toHit);
}
