import type { SearchHit, SearchMode } from "@herd/jobs";
import type { Queryable } from "../database.js";
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
}

/** Reciprocal rank fusion constant from Cormack et al. (2009). */
const RRF_K = 60;

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
export async function searchChunks(db: Queryable, mode: SearchMode, input: SearchInput): Promise<SearchHit[]> {
  const id = Math.trunc(input.collectionId);
  const dims = Math.trunc(input.dimensions);
  const useVector = mode !== "keyword";
  const useKeyword = mode !== "vector";
  const vectorList = useVector
    ? `SELECT c.id, row_number() OVER (ORDER BY c.embedding::vector(${dims}) <=> $1::text::vector(${dims})) AS rank
         FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.collection_id = ${id} AND ($4::jsonb IS NULL OR d.metadata @> $4::jsonb)
        ORDER BY c.embedding::vector(${dims}) <=> $1::text::vector(${dims}) LIMIT $3::int`
    : "SELECT NULL::bigint AS id, NULL::bigint AS rank WHERE false";
  const keywordList = useKeyword
    ? `SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q.query) DESC, c.id) AS rank
         FROM chunks c JOIN documents d ON d.id = c.document_id,
              (SELECT to_tsquery('english', string_agg(quote_literal(lexeme), ' | ')) AS query
                 FROM unnest(tsvector_to_array(to_tsvector('english', $2::text))) AS lexeme) q
        WHERE c.collection_id = ${id} AND q.query IS NOT NULL AND c.tsv @@ q.query
          AND ($4::jsonb IS NULL OR d.metadata @> $4::jsonb)
        ORDER BY ts_rank_cd(c.tsv, q.query) DESC, c.id LIMIT $3::int`
    : "SELECT NULL::bigint AS id, NULL::bigint AS rank WHERE false";
  const { rows } = await db.query<HitRow>(
    // Every parameter is typed once here, so a mode that leaves some unused still plans.
    `WITH params AS (SELECT $1::text AS embedding, $2::text AS query, $3::int AS candidates, $4::jsonb AS filter, $5::int AS k),
          vec AS (${vectorList}), kw AS (${keywordList}),
          fused AS (
            SELECT coalesce(vec.id, kw.id) AS id, vec.rank AS vector_rank, kw.rank AS keyword_rank,
                   coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + kw.rank), 0) AS score
              FROM vec FULL OUTER JOIN kw ON vec.id = kw.id)
     SELECT c.id AS chunk_id, d.external_id, c.ordinal, c.heading, c.text, d.metadata,
            f.score, f.vector_rank, f.keyword_rank
       FROM fused f JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
      ORDER BY f.score DESC, c.id LIMIT $5::int`,
    [
      useVector && input.embedding ? vectorLiteral(input.embedding) : null,
      input.query ?? "",
      input.candidates,
      input.filter ? JSON.stringify(input.filter) : null,
      input.k,
    ],
  );
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
