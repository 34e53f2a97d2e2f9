/**
 * pgvector's HNSW index holds vectors of at most 2,000 dimensions, and half-precision ones
 * (halfvec) of at most 4,000; popular embedding models are larger (qwen3-embedding: 2,560 at 4b,
 * 4,096 at 8b). A collection's index is the best that fits its dimension: full precision, half
 * precision (the index ranks candidates in half precision; the stored vectors stay full), or none,
 * in which case every search ranks the collection's chunks exactly (correct; its cost grows with
 * the collection, unlike an index's).
 */
export const HNSW_MAX_DIMENSIONS = 2000;
export const HNSW_HALFVEC_MAX_DIMENSIONS = 4000;

export type VectorIndex = "hnsw" | "hnsw_halfvec" | "none";

export function vectorIndexFor(dimensions: number): VectorIndex {
  if (dimensions <= HNSW_MAX_DIMENSIONS) return "hnsw";
  return dimensions <= HNSW_HALFVEC_MAX_DIMENSIONS ? "hnsw_halfvec" : "none";
}

/**
 * The type the index's expression casts the embedding to (`vector(768)`, `halfvec(2560)`) and the
 * operator class of its cosine distance; undefined without an index.
 */
export function indexedType(dimensions: number): { type: string; operators: string } | undefined {
  const dims = Math.trunc(dimensions);
  const index = vectorIndexFor(dims);
  if (index === "none") return undefined;
  return index === "hnsw" ? { type: `vector(${dims})`, operators: "vector_cosine_ops" } : { type: `halfvec(${dims})`, operators: "halfvec_cosine_ops" };
}
