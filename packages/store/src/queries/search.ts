import type { SearchHit, SearchMode } from "@herd/jobs";
import type pg from "pg";
import { vectorLiteral } from "./chunks.js";

export type { SearchHit, SearchMode };

export interface SearchInput {
  collectionId: number;
  dimensions: number;
  /** The collection's text search configuration (its language), which keyword search parses the query with. */
  language: string;
  k: number;
  /** Candidates taken from each list before fusing (hybrid) or the list size (single mode). */
  candidates: number;
  embedding?: number[];
  query?: string;
  /** Documents must contain this JSON (jsonb containment on their metadata). */
  filter?: Record<string, unknown>;
  /** Keyword terms estimated in more chunks than this are left out (default COMMON_TERM_ROWS). */
  commonTermRows?: number;
  /**
   * Rank every chunk of the collection by distance instead of walking its HNSW index: exact, and
   * about as fast on a small collection (see SmallCollections).
   */
  exact?: boolean;
}

/** Reciprocal rank fusion constant from Cormack et al. (2009). */
const RRF_K = 60;
/**
 * Equal scores are ordered by the chunk's content hash, then id: ids follow the order chunks were
 * stored in, which depends on how parallel ingestion happened to run, so ties broken by id alone
 * gave the same corpus different keyword ranks from run to run (the retrieval-quality test failed
 * in some runs when a tie pushed a relevant chunk from 5th to 6th).
 */
const TIE_BREAK = "c.content_hash, c.id";

/** pgvector's default hnsw.ef_search; an HNSW scan never returns more rows than this. */
const DEFAULT_EF_SEARCH = 40;

/**
 * Keyword search ranks only terms (lexemes) estimated to occur in at most this many chunks. The
 * estimate comes from the planner statistics of chunks.tsv (autovacuum's ANALYZE; migration 0002
 * raises their detail), so it costs no scan; before the first ANALYZE every term qualifies.
 */
export const COMMON_TERM_ROWS = 2000;

/**
 * Each query term with its estimated number of chunks (0 when the statistics do not list it,
 * which means it is rarer than any term they do list).
 */
const termEstimates = (language: string) => `SELECT l.lexeme, coalesce(e.freq, 0) * greatest(c.reltuples, 0) AS rows
    FROM unnest(tsvector_to_array(to_tsvector(${language}, herd_search_text($2::text, false)))) AS l (lexeme)
    CROSS JOIN (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass) c
    LEFT JOIN (SELECT u.elem, u.freq FROM pg_stats s
                 CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u (elem, freq)
                WHERE s.schemaname = current_schema() AND s.tablename = 'chunks' AND s.attname = 'tsv') e ON e.elem = l.lexeme`;

/**
 * A text search configuration's name as an SQL literal. The name comes from the collection's row
 * (a regconfig, so one the database has), never from a client; it is checked all the same, as it
 * goes into the SQL text (the prepared statement of the query's terms is per language).
 */
function languageLiteral(language: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(language)) throw new Error(`not a text search configuration name: ${JSON.stringify(language)}`);
  return `'${language}'::regconfig`;
}

/** How many candidates each list contributes before fusion, for a request of `k` results. */
export function searchCandidates(k: number): number {
  return Math.max(50, k * 4);
}

interface HitRow {
  chunk_id: string;
  external_id: string;
  ordinal: number;
  heading: string | null;
  text: string;
  metadata: Record<string, unknown>;
  score: string | number;
  /** bigint text from SQL, or a number when fused here. */
  vector_rank: string | number | null;
  keyword_rank: string | number | null;
}

/**
 * The candidate lists are the same SQL for every mode; the mode only decides which of them
 * feed the fused score. Vectors use the collection's HNSW index (the cast and the collection
 * filter are literal so the partial index matches); keywords use an OR of the query's stemmed
 * words against the GIN-indexed tsvector, ranked by ts_rank_cd.
 *
 * Hybrid search on a pool of several connections runs the two lists as two statements at once
 * and fuses them here: PostgreSQL runs one statement on one core, and the two lists are
 * independent, so the search takes as long as the slower list instead of both in a row. A pool
 * of one connection (the embedded server) runs the single statement that fuses in SQL.
 */
export async function searchChunks(pool: pg.Pool, mode: SearchMode, input: SearchInput, options: { parallel?: boolean } = {}): Promise<SearchHit[]> {
  const parallel = options.parallel ?? (pool.options.max ?? 10) > 1;
  if (mode === "hybrid" && parallel) return hybridInParallel(pool, input);
  if (mode === "keyword") return runSearch(pool, mode, input);
  return withEfSearch(pool, input.candidates, (client) => runSearch(client, mode, input));
}

/**
 * The candidate lists of one mode as CTEs (`vec`, `kw`: id and rank). The collection id and
 * dimension are integers from the database row (literal, so the collection's partial HNSW index
 * matches); everything from the client is a parameter. Documents are joined into the candidate
 * lists only when a filter needs them.
 */
function listsSql(mode: SearchMode, collectionId: number, dimensions: number, language: string, filtered: boolean, commonTermRows = COMMON_TERM_ROWS, tsqueryParam = false, exact = false): string {
  const id = Math.trunc(collectionId);
  const config = languageLiteral(language);
  const dims = Math.trunc(dimensions);
  const from = filtered ? "chunks c JOIN documents d ON d.id = c.document_id" : "chunks c";
  const filter = filtered ? "AND d.metadata @> $4::jsonb" : "";
  // Without the cast to vector(dims) the expression is not the index's: PostgreSQL then sorts the
  // collection's chunks by exact distance.
  const distance = exact ? `c.embedding <=> $1::text::vector(${dims})` : `c.embedding::vector(${dims}) <=> $1::text::vector(${dims})`;
  const vectorOrder = exact ? `${distance}, ${TIE_BREAK}` : distance;
  const none = "SELECT NULL::bigint AS id, NULL::bigint AS rank, NULL::text AS content_hash WHERE false";
  const vectorList =
    mode === "keyword"
      ? none
      : `SELECT c.id, row_number() OVER (ORDER BY ${vectorOrder}) AS rank, c.content_hash FROM ${from}
          WHERE c.collection_id = ${id} ${filter} ORDER BY ${vectorOrder} LIMIT $3::int`;
  // Ranking every chunk that holds a common term costs far more than such a term tells (it is
  // a stop word for this corpus), so the OR takes only the query's rarer terms. A query made only
  // of common terms requires all of them (AND), if that combination is estimated to be rare enough
  // (terms taken as independent) or keyword search was asked for explicitly; otherwise the vector
  // list alone ranks it.
  const limit = Math.trunc(commonTermRows);
  const keywordQuery =
    mode === "vector"
      ? "SELECT NULL::tsquery AS query"
      : tsqueryParam
        ? "SELECT nullif($2::text, '')::tsquery AS query"
      : `SELECT CASE
               WHEN count(*) = 0 THEN NULL
               WHEN bool_or(t.rows <= ${limit}) THEN to_tsquery(${config}, string_agg(quote_literal(t.lexeme), ' | ') FILTER (WHERE t.rows <= ${limit}))
               WHEN ${mode === "keyword" ? "true" : "false"} OR exp(sum(ln(greatest(t.rows, 1))) - (count(*) - 1) * ln(greatest(max(c.reltuples), 1))) <= ${limit}
                 THEN to_tsquery(${config}, string_agg(quote_literal(t.lexeme), ' & '))
             END AS query
           FROM terms t CROSS JOIN (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass) c`;
  const keywordList =
    mode === "vector"
      ? none
      : `SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q.query) DESC, ${TIE_BREAK}) AS rank, c.content_hash FROM ${from}, kw_query q
          WHERE c.collection_id = ${id} AND q.query IS NOT NULL AND c.tsv @@ q.query ${filter}
          ORDER BY ts_rank_cd(c.tsv, q.query) DESC, ${TIE_BREAK} LIMIT $3::int`;
  // Every parameter is typed once in `params`, so a mode that leaves some unused still plans.
  // A list the final SELECT does not reference is never evaluated.
  return `WITH params AS (SELECT $1::text AS embedding, $2::text AS query, $3::int AS candidates, $4::jsonb AS filter, $5::int AS k),
      terms AS MATERIALIZED (${mode === "vector" || tsqueryParam ? "SELECT NULL::text AS lexeme, 0::float8 AS rows WHERE false" : termEstimates(config)}),
      kw_query AS MATERIALIZED (${keywordQuery}),
      vec AS (${vectorList}), kw AS (${keywordList})`;
}

/** One mode's ranked, fused hits with their rows, in one statement. */
export function searchSql(mode: SearchMode, collectionId: number, dimensions: number, language: string, filtered: boolean, commonTermRows = COMMON_TERM_ROWS, exact = false): string {
  return `${listsSql(mode, collectionId, dimensions, language, filtered, commonTermRows, false, exact)},
      fused AS (
        SELECT coalesce(vec.id, kw.id) AS id, vec.rank AS vector_rank, kw.rank AS keyword_rank,
               coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + kw.rank), 0) AS score
          FROM vec FULL OUTER JOIN kw ON vec.id = kw.id)
    SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata, f.score, f.vector_rank, f.keyword_rank
      FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
     ORDER BY f.score DESC, ${TIE_BREAK} LIMIT $5::int`;
}

function parameters(mode: SearchMode, input: SearchInput): unknown[] {
  return [
    mode !== "keyword" && input.embedding ? vectorLiteral(input.embedding) : null,
    input.query ?? "",
    input.candidates,
    input.filter ? JSON.stringify(input.filter) : null,
    input.k,
  ];
}

const ROWS_BY_ID = `SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata
    FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::bigint[])`;

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
 * Hybrid search as two concurrent statements (the vector list; the keyword list), fused with the
 * same formula and order as searchSql, then one lookup of the winners' rows. The keyword side
 * first turns the query into a tsquery with a prepared statement: reading the planner statistics
 * goes through the pg_stats view, whose parsing and rewriting cost more than the search itself,
 * and a prepared statement pays that once per connection (it does not depend on the collection).
 */
async function hybridInParallel(pool: pg.Pool, input: SearchInput): Promise<SearchHit[]> {
  const limit = Math.trunc(input.commonTermRows ?? COMMON_TERM_ROWS);
  const filtered = input.filter !== undefined;
  const params = parameters("hybrid", input);
  const [vectorParam, queryParam, ...rest] = params;
  const listOf = (list: "vec" | "kw", tsqueryParam: boolean) => `${listsSql("hybrid", input.collectionId, input.dimensions, input.language, filtered, limit, tsqueryParam, input.exact)} SELECT id, rank, content_hash FROM ${list}`;
  const vectorList = () => withEfSearch(pool, input.candidates, async (client) => (await client.query<RankRow>(listOf("vec", false), [vectorParam, "", ...rest])).rows);
  const keywordList = async () => {
    const terms = await pool.query<{ query: string | null }>({
      name: `herd-search-terms-${limit}-${input.language}`,
      text: `${listsSql("hybrid", 0, 1, input.language, false, limit)} SELECT query::text AS query FROM kw_query`,
      values: [null, queryParam, ...rest],
    });
    const tsquery = terms.rows[0]?.query;
    if (!tsquery) return [];
    return (await pool.query<RankRow>(listOf("kw", true), [null, tsquery, ...rest])).rows;
  };
  const [vec, kw] = await Promise.all([vectorList(), keywordList()]);
  const fused = new Map<string, { vectorRank: number | null; keywordRank: number | null; contentHash: string }>();
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
  if (winners.length === 0) return [];
  const { rows } = await pool.query<Omit<HitRow, "score" | "vector_rank" | "keyword_rank">>(ROWS_BY_ID, [winners.map((winner) => winner.id)]);
  const byId = new Map(rows.map((row) => [String(row.chunk_id), row]));
  return winners.flatMap((winner) => {
    const row = byId.get(winner.id);
    // A chunk deleted between the two steps drops out of the answer.
    if (!row) return [];
    return [toHit({ ...row, score: winner.score, vector_rank: winner.vectorRank, keyword_rank: winner.keywordRank })];
  });
}

interface RankRow {
  id: string;
  rank: string;
  content_hash: string;
}

/** The order PostgreSQL's "C" collation gives (content hashes are hex, so every collation agrees). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toHit(row: HitRow): SearchHit {
  return {
    chunkId: Number(row.chunk_id),
    documentId: row.external_id,
    ordinal: row.ordinal,
    heading: row.heading,
    text: row.text,
    metadata: row.metadata,
    score: Number(row.score),
    vectorRank: row.vector_rank === null ? null : Number(row.vector_rank),
    keywordRank: row.keyword_rank === null ? null : Number(row.keyword_rank),
  };
}

async function runSearch(db: pg.Pool | pg.PoolClient, mode: SearchMode, input: SearchInput): Promise<SearchHit[]> {
  const { rows } = await db.query<HitRow>(searchSql(mode, input.collectionId, input.dimensions, input.language, input.filter !== undefined, input.commonTermRows, input.exact), parameters(mode, input));
  return rows.map(toHit);
}
