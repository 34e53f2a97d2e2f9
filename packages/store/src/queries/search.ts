import type { SearchHit, SearchMode } from "@herd/jobs";
import type pg from "pg";
import { inTransaction } from "../database.js";
import { vectorLiteral } from "./chunks.js";

export type { SearchHit, SearchMode };

export interface SearchInput {
  collectionId: number;
  dimensions: number;
  k: number;
  /** Candidates taken from each list before fusing (hybrid) or the list size (single mode). */
  candidates: number;
  embedding?: number[];
  query?: string;
  /** Documents must contain this JSON (jsonb containment on their metadata). */
  filter?: Record<string, unknown>;
  /** Keyword terms estimated in more chunks than this are left out (default COMMON_TERM_ROWS). */
  commonTermRows?: number;
}

/** Reciprocal rank fusion constant from Cormack et al. (2009). */
const RRF_K = 60;
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
const TERM_ESTIMATES = `SELECT l.lexeme, coalesce(e.freq, 0) * greatest(c.reltuples, 0) AS rows
    FROM unnest(tsvector_to_array(to_tsvector('english', $2::text))) AS l (lexeme)
    CROSS JOIN (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass) c
    LEFT JOIN (SELECT u.elem, u.freq FROM pg_stats s
                 CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u (elem, freq)
                WHERE s.schemaname = current_schema() AND s.tablename = 'chunks' AND s.attname = 'tsv') e ON e.elem = l.lexeme`;

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
  vector_rank: string | null;
  keyword_rank: string | null;
}

/**
 * The candidate lists are the same SQL for every mode; the mode only decides which of them
 * feed the fused score. Vectors use the collection's HNSW index (the cast and the collection
 * filter are literal so the partial index matches); keywords use an OR of the query's stemmed
 * words against the GIN-indexed tsvector, ranked by ts_rank_cd.
 */
export async function searchChunks(pool: pg.Pool, mode: SearchMode, input: SearchInput): Promise<SearchHit[]> {
  if (mode === "keyword" || input.candidates <= DEFAULT_EF_SEARCH) return runSearch(pool, mode, input);
  // An HNSW scan stops at hnsw.ef_search rows whatever the LIMIT (40 by default), so a list of
  // 50 candidates would silently hold 40. SET LOCAL raises it for this query only.
  const efSearch = Math.trunc(input.candidates);
  return inTransaction(pool, async (client) => {
    await client.query(`SET LOCAL hnsw.ef_search = ${efSearch}`);
    return runSearch(client, mode, input);
  });
}

/**
 * The statement for one mode. The collection id and dimension are integers from the database row
 * (literal, so the collection's partial HNSW index matches); everything from the client is a
 * parameter. Documents are joined into the candidate lists only when a filter needs them.
 */
export function searchSql(mode: SearchMode, collectionId: number, dimensions: number, filtered: boolean, commonTermRows = COMMON_TERM_ROWS): string {
  const id = Math.trunc(collectionId);
  const dims = Math.trunc(dimensions);
  const from = filtered ? "chunks c JOIN documents d ON d.id = c.document_id" : "chunks c";
  const filter = filtered ? "AND d.metadata @> $4::jsonb" : "";
  const distance = `c.embedding::vector(${dims}) <=> $1::text::vector(${dims})`;
  const none = "SELECT NULL::bigint AS id, NULL::bigint AS rank WHERE false";
  const vectorList =
    mode === "keyword"
      ? none
      : `SELECT c.id, row_number() OVER (ORDER BY ${distance}) AS rank FROM ${from}
          WHERE c.collection_id = ${id} ${filter} ORDER BY ${distance} LIMIT $3::int`;
  // Ranking every chunk that holds a common term costs far more than such a term tells (it is
  // a stop word for this corpus), so the OR takes only the query's rarer terms. A query made only
  // of common terms requires all of them (AND), if that combination is estimated to be rare enough
  // (terms taken as independent) or keyword search was asked for explicitly; otherwise the vector
  // list alone ranks it.
  const limit = Math.trunc(commonTermRows);
  const keywordQuery =
    mode === "vector"
      ? "SELECT NULL::tsquery AS query"
      : `SELECT CASE
               WHEN count(*) = 0 THEN NULL
               WHEN bool_or(t.rows <= ${limit}) THEN to_tsquery('english', string_agg(quote_literal(t.lexeme), ' | ') FILTER (WHERE t.rows <= ${limit}))
               WHEN ${mode === "keyword" ? "true" : "false"} OR exp(sum(ln(greatest(t.rows, 1))) - (count(*) - 1) * ln(greatest(max(c.reltuples), 1))) <= ${limit}
                 THEN to_tsquery('english', string_agg(quote_literal(t.lexeme), ' & '))
             END AS query
           FROM terms t CROSS JOIN (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass) c`;
  const keywordList =
    mode === "vector"
      ? none
      : `SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q.query) DESC, c.id) AS rank FROM ${from}, kw_query q
          WHERE c.collection_id = ${id} AND q.query IS NOT NULL AND c.tsv @@ q.query ${filter}
          ORDER BY ts_rank_cd(c.tsv, q.query) DESC, c.id LIMIT $3::int`;
  // Every parameter is typed once in `params`, so a mode that leaves some unused still plans.
  return `WITH params AS (SELECT $1::text AS embedding, $2::text AS query, $3::int AS candidates, $4::jsonb AS filter, $5::int AS k),
      terms AS MATERIALIZED (${mode === "vector" ? "SELECT NULL::text AS lexeme, 0::float8 AS rows WHERE false" : TERM_ESTIMATES}),
      kw_query AS MATERIALIZED (${keywordQuery}),
      vec AS (${vectorList}), kw AS (${keywordList}),
      fused AS (
        SELECT coalesce(vec.id, kw.id) AS id, vec.rank AS vector_rank, kw.rank AS keyword_rank,
               coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + kw.rank), 0) AS score
          FROM vec FULL OUTER JOIN kw ON vec.id = kw.id)
    SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata, f.score, f.vector_rank, f.keyword_rank
      FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
     ORDER BY f.score DESC, c.id LIMIT $5::int`;
}

async function runSearch(db: pg.Pool | pg.PoolClient, mode: SearchMode, input: SearchInput): Promise<SearchHit[]> {
  const { rows } = await db.query<HitRow>(searchSql(mode, input.collectionId, input.dimensions, input.filter !== undefined, input.commonTermRows), [
    mode !== "keyword" && input.embedding ? vectorLiteral(input.embedding) : null,
    input.query ?? "",
    input.candidates,
    input.filter ? JSON.stringify(input.filter) : null,
    input.k,
  ]);
  return rows.map((row) => ({
    chunkId: Number(row.chunk_id),
    documentId: row.external_id,
    ordinal: row.ordinal,
    heading: row.heading,
    text: row.text,
    metadata: row.metadata,
    score: Number(row.score),
    vectorRank: row.vector_rank === null ? null : Number(row.vector_rank),
    keywordRank: row.keyword_rank === null ? null : Number(row.keyword_rank),
  }));
}
