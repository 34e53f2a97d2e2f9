export { HerdCache, CACHE_LAYERS, type CacheLayer, type CacheOptions, type LayerStats } from "./cache.js";
export { embeddingCacheKey, inferenceCacheKey, isCacheableGeneration } from "./keys.js";
