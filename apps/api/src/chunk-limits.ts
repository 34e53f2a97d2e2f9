import { estimateTokens } from "./answer-prompt.js";

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
 * The most tokens a chunk may have for `contextLength`, the most an embedding model reads of one
 * input: Ollama cuts a longer input to it without a word (its `truncate` default), so the end of
 * every chunk would be missing from its vector and unfindable by vector search.
 */
export function chunkTokensLimit(contextLength: number, documentPrefix: string): number {
  return Math.floor(contextLength * CHUNK_SHARE) - estimateTokens(documentPrefix);
}
