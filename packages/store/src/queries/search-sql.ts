/** The SQL of chunk search: candidate lists, fusion, parameters and result rows. */
import type { SearchHit, SearchMode } from "@herd/jobs";
import { vectorLiteral } from "./chunks.js";
import { indexedType } from "./vector-index.js";

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
   * Keyword terms estimated in more chunks than this only add to the rank of chunks that a
   * rarer term matched (never more than commonTermRows). Default in hybrid mode: MATCH_TERM_SHARE
   * of the chunks, at least MATCH_TERM_FLOOR; in keyword mode every ranked term matches.
   */
  matchTermRows?: number;
  /**
   * Rank every chunk of the collection by distance instead of walking its HNSW index: exact, and
   * fast enough on a small collection (see SmallCollections).
   */
  exact?: boolean;
}

/** Reciprocal rank fusion constant from Cormack et al. (2009). */
export const RRF_K = 60;
/**
 * Equal scores are ordered by the chunk's content hash, then id: ids follow the order chunks were
 * stored in, which depends on how parallel ingestion happened to run, so ties broken by id alone
 * gave the same corpus different keyword ranks from run to run (the retrieval-quality test failed
 * in some runs when a tie pushed a relevant chunk from 5th to 6th).
 */
export const TIE_BREAK = "c.content_hash, c.id";
/** TIE_BREAK over a candidate list's own columns. */
const OUTER_TIE_BREAK = "l.content_hash, l.id";

/**
 * Keyword search ranks only terms (lexemes) estimated to occur in at most this many chunks. The
 * estimate comes from the planner statistics of chunks.tsv (ANALYZE: autovacuum's, or the API's
 * as ingestion writes, see ChunkStatistics; migration 0002 raises their detail), so it costs no
 * scan; before the first ANALYZE every term qualifies.
 */
export const COMMON_TERM_ROWS = 2000;

/**
 * In hybrid search, of the ranked terms only those estimated in at most this share of the chunks
 * (or in at most MATCH_TERM_FLOOR chunks) decide which chunks the keyword list ranks; the others
 * still count in the rank of a chunk that holds a rarer term. ts_rank_cd weighs every term alike,
 * so in a table of a few thousand chunks a term in a fifth of them (a part-number prefix, "pump")
 * cost most of the search and filled the list with chunks holding nothing else of the query.
 * With none so rare, the query's rarest term alone decides. Keyword-only search keeps matching
 * every ranked term: on the repository's manuals, matching only terms in at most one chunk in 20
 * lowered keyword-only recall@5 from 0.891 to 0.656 while hybrid rose from 0.922 to 0.984 (the
 * vector list finds what the keyword list no longer matches).
 */
export const MATCH_TERM_SHARE = 0.05;
/** Below this many chunks a term always decides (ranking a few hundred chunks costs little). */
export const MATCH_TERM_FLOOR = 100;

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

export interface HitRow {
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

/** What the text of a search statement depends on besides its mode (all else is a parameter). */
export interface StatementShape extends Pick<SearchInput, "collectionId" | "dimensions" | "language" | "commonTermRows" | "matchTermRows" | "exact"> {
  /** Documents must match the filter ($4). */
  filtered: boolean;
  /** The keyword list takes its tsqueries as parameters ($2 ranks, $6 matches) instead of the query's text. */
  tsqueryParam?: boolean;
}

export function statementShape(input: SearchInput): StatementShape {
  const { collectionId, dimensions, language, commonTermRows, matchTermRows, exact } = input;
  return { collectionId, dimensions, language, commonTermRows, matchTermRows, exact, filtered: input.filter !== undefined };
}

/**
 * The candidate lists of one mode as CTEs (`vec`, `kw`: id and rank). The collection id and
 * dimension are integers from the database row (literal, so the collection's partial HNSW index
 * matches); everything from the client is a parameter. Documents are joined into the candidate
 * lists only when a filter needs them.
 */
export function listsSql(mode: SearchMode, shape: StatementShape): string {
  const { filtered, exact = false, tsqueryParam = false } = shape;
  const id = Math.trunc(shape.collectionId);
  const config = languageLiteral(shape.language);
  const dims = Math.trunc(shape.dimensions);
  const from = filtered ? "chunks c JOIN documents d ON d.id = c.document_id" : "chunks c";
  const filter = filtered ? "AND d.metadata @> $4::jsonb" : "";
  // Without the cast to the index's type the expression is not the index's: PostgreSQL then sorts
  // the collection's chunks by exact distance, as it must for a collection with no index.
  const indexed = exact ? undefined : indexedType(dims)?.type;
  const distance = indexed ? `c.embedding::${indexed} <=> $1::text::${indexed}` : `c.embedding <=> $1::text::vector(${dims})`;
  const vectorOrder = indexed ? distance : `${distance}, ${TIE_BREAK}`;
  const none = "SELECT NULL::bigint AS id, NULL::bigint AS rank, NULL::text AS content_hash WHERE false";
  // Each list numbers its candidates after the LIMIT: a window over the scan itself sorted every
  // row the scan returned (all of a small collection's chunks when searched exactly, every chunk
  // holding a matching term), where the LIMIT alone keeps only the best in a bounded heap.
  const vectorList =
    mode === "keyword"
      ? none
      : `SELECT l.id, row_number() OVER (ORDER BY l.distance, ${OUTER_TIE_BREAK}) AS rank, l.content_hash FROM (
          SELECT c.id, c.content_hash, ${distance} AS distance FROM ${from}
           WHERE c.collection_id = ${id} ${filter} ORDER BY ${vectorOrder} LIMIT $3::int) l`;
  // Ranking every chunk that holds a common term costs far more than such a term tells (it is
  // a stop word for this corpus), so the OR takes only the query's rarer terms. A query made only
  // of common terms requires all of them (AND), if that combination is estimated to be rare enough
  // (terms taken as independent) or keyword search was asked for explicitly; otherwise the vector
  // list alone ranks it.
  // `query` ranks; `match` (null: the query itself) chooses the chunks it ranks (MATCH_TERM_SHARE).
  const limit = Math.trunc(shape.commonTermRows ?? COMMON_TERM_ROWS);
  const defaultMatchLimit = mode === "keyword" ? `${limit}` : `greatest(${MATCH_TERM_FLOOR}, ${MATCH_TERM_SHARE} * c.reltuples)`;
  const matchLimit = `least(${limit}, ${shape.matchTermRows === undefined ? defaultMatchLimit : Math.trunc(shape.matchTermRows)})`;
  const keywordQuery =
    mode === "vector"
      ? "SELECT NULL::tsquery AS query, NULL::tsquery AS match"
      : tsqueryParam
        ? "SELECT nullif($2::text, '')::tsquery AS query, nullif($6::text, '')::tsquery AS match"
      : `SELECT CASE
               WHEN count(*) = 0 THEN NULL
               WHEN bool_or(t.rows <= ${limit}) THEN to_tsquery(${config}, string_agg(quote_literal(t.lexeme), ' | ') FILTER (WHERE t.rows <= ${limit}))
               WHEN ${mode === "keyword" ? "true" : "false"} OR exp(sum(ln(greatest(t.rows, 1))) - (count(*) - 1) * ln(greatest(max(c.reltuples), 1))) <= ${limit}
                 THEN to_tsquery(${config}, string_agg(quote_literal(t.lexeme), ' & '))
             END AS query,
             CASE
               WHEN bool_or(t.rows <= ${matchLimit}) THEN to_tsquery(${config}, string_agg(quote_literal(t.lexeme), ' | ') FILTER (WHERE t.rows <= ${matchLimit}))
               WHEN bool_or(t.rows <= ${limit}) THEN to_tsquery(${config}, quote_literal((array_agg(t.lexeme ORDER BY t.rows, t.lexeme) FILTER (WHERE t.rows <= ${limit}))[1]))
             END AS match
           FROM terms t CROSS JOIN (SELECT reltuples FROM pg_class WHERE oid = 'chunks'::regclass) c`;
  const keywordList =
    mode === "vector"
      ? none
      : `SELECT l.id, row_number() OVER (ORDER BY l.score DESC, ${OUTER_TIE_BREAK}) AS rank, l.content_hash FROM (
          SELECT c.id, c.content_hash, ts_rank_cd(c.tsv, q.query) AS score FROM ${from}, kw_query q
           WHERE c.collection_id = ${id} AND q.query IS NOT NULL AND c.tsv @@ coalesce(q.match, q.query) ${filter}
           ORDER BY score DESC, ${TIE_BREAK} LIMIT $3::int) l`;
  // Every parameter is typed once in `params`, so a mode that leaves some unused still plans.
  // A list the final SELECT does not reference is never evaluated. Only a list given its
  // tsqueries as parameters has a sixth ($6: the match query's text).
  return `WITH params AS (SELECT $1::text AS embedding, $2::text AS query, $3::int AS candidates, $4::jsonb AS filter, $5::int AS k${tsqueryParam ? ", $6::text AS match" : ""}),
      terms AS MATERIALIZED (${mode === "vector" || tsqueryParam ? "SELECT NULL::text AS lexeme, 0::float8 AS rows WHERE false" : termEstimates(config)}),
      kw_query AS MATERIALIZED (${keywordQuery}),
      vec AS (${vectorList}), kw AS (${keywordList})`;
}

/** One mode's ranked, fused hits with their rows, in one statement. */
export function searchSql(mode: SearchMode, shape: Omit<StatementShape, "tsqueryParam">): string {
  return `${listsSql(mode, shape)},
      fused AS (
        SELECT coalesce(vec.id, kw.id) AS id, vec.rank AS vector_rank, kw.rank AS keyword_rank,
               coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + kw.rank), 0) AS score
          FROM vec FULL OUTER JOIN kw ON vec.id = kw.id)
    SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata, f.score, f.vector_rank, f.keyword_rank
      FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
     ORDER BY f.score DESC, ${TIE_BREAK} LIMIT $5::int`;
}

/** The parameters ($1 to $5) of searchSql's and listsSql's statements for `input`. */
export function searchParameters(mode: SearchMode, input: SearchInput): unknown[] {
  return [
    mode !== "keyword" && input.embedding ? vectorLiteral(input.embedding) : null,
    input.query ?? "",
    input.candidates,
    input.filter ? JSON.stringify(input.filter) : null,
    input.k,
  ];
}

export function toHit(row: HitRow): SearchHit {
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
