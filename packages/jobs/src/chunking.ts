export const DEFAULT_CHUNK_TOKENS = 256;
export const DEFAULT_CHUNK_OVERLAP = 32;
/** The smallest chunk the chunker makes. */
export const MIN_CHUNK_TOKENS = 16;

/**
 * Share of an embedding model's context a chunk's text may fill. The rest is for its heading and
 * because the model's tokenizer (BERT's WordPiece for most embedding models) makes more tokens of
 * a text than the chunker's 200k-vocabulary BPE counts.
 */
const CHUNK_SHARE = 0.8;

/**
 * The context a model runs with: `requested` (a pinned num_ctx, or an assumed default) when it is
 * within the model's own context length, else the own one (Ollama caps a larger num_ctx to it);
 * `requested` tells which. Undefined when neither is known.
 */
export function modelContext(own: number | undefined, requested: number | undefined): { tokens: number; requested: boolean } | undefined {
  if (requested !== undefined && requested <= (own ?? Number.POSITIVE_INFINITY)) return { tokens: requested, requested: true };
  return own === undefined ? undefined : { tokens: own, requested: false };
}

/**
 * The most tokens a collection's chunks may have when its embedding model reads `contextLength`
 * tokens of an input: Ollama cuts a longer input to it without a word (`truncate` defaults on),
 * so the end of every chunk would be missing from its vector and unfindable by vector search.
 * `prefixTokens`: what the collection's document prefix takes.
 */
export function chunkTokensLimit(contextLength: number, prefixTokens = 0): number {
  return Math.floor(contextLength * CHUNK_SHARE) - prefixTokens;
}
