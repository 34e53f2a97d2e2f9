export { chunkBlocks, type Chunk, type ChunkSettings } from "./chunker.js";
export { parseDocument, resolveType, SUPPORTED_TYPES, type SupportedType } from "./formats.js";
export { parseAndChunk, type ParseTask, type ParseResult } from "./task.js";
export { ParsePool } from "./pool.js";
export { CorruptDocumentError, UnsupportedFormatError, type Block } from "./blocks.js";
