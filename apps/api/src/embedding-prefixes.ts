/** What a retrieval model is trained to see before a search query and before a passage. */
export interface EmbeddingPrefixes {
  queryPrefix: string;
  documentPrefix: string;
}

/**
 * The task prefixes of the embedding models in Ollama's library whose model cards ask for them,
 * by base name (no namespace, no tag). Retrieval without them still works, measurably worse; a
 * collection created without naming its prefixes takes these.
 */
// "nomic-embed-text requires prefixes" (its model card): search_query / search_document.
const NOMIC: EmbeddingPrefixes = { queryPrefix: "search_query: ", documentPrefix: "search_document: " };

const KNOWN: Readonly<Record<string, EmbeddingPrefixes>> = {
  "nomic-embed-text": NOMIC,
  "nomic-embed-text-v2-moe": NOMIC,
  // Its model card and Ollama's page: a prompt before queries only.
  "mxbai-embed-large": { queryPrefix: "Represent this sentence for searching relevant passages: ", documentPrefix: "" },
  // Its Sentence Transformers prompts "Retrieval-query" and "Retrieval-document".
  embeddinggemma: { queryPrefix: "task: search result | query: ", documentPrefix: "title: none | text: " },
  // Its model card: an instruction before queries (its retrieval one), none before documents.
  "qwen3-embedding": { queryPrefix: "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: ", documentPrefix: "" },
};

const NONE: EmbeddingPrefixes = { queryPrefix: "", documentPrefix: "" };

/** The prefixes `model` (a normalised name such as "nomic-embed-text:v1.5" or "me/nomic-embed-text:latest") is known to want, or none. */
export function defaultPrefixes(model: string): EmbeddingPrefixes {
  const base = model.toLowerCase().replace(/:[^:/]*$/, "").split("/").at(-1) ?? "";
  return KNOWN[base] ?? NONE;
}
