export { HerdCache, CACHE_LAYERS, type CacheLayer, type CacheOptions, type LayerStats, type MemoryTier } from "./cache.js";
export { CacheStatsPublisher, readCacheTotals } from "./stats-publisher.js";
export { chunkCacheKey, embeddingCacheKey, inferenceCacheKey, isCacheableGeneration } from "./keys.js";
export { decodeEmbeddingEntry, decodeEmbeddingText, encodeEmbeddingEntry, shareTokens, type EmbeddingEntry } from "./embedding-entry.js";
