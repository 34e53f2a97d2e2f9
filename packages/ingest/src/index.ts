// What a process that hosts the parse pool needs. The parsers and the tokenizer (pdfjs, gpt-tokenizer:
// about 0.6 s and 80 MB to load) are in "@herd/ingest/parsing", loaded by the pool's threads only.
export type { Chunk, ChunkSettings } from "./chunker.js";
export { DOC, DOCX, legacyTypeOf, ODP, ODS, ODT, PPTX, resolveType, SUPPORTED_TYPES, XLSX, type SupportedType } from "./document-types.js";
export type { ParseTask, ParseResult } from "./task.js";
export { ParsePool } from "./pool.js";
export { applyFallbackCharset, canonicalCharset, charsetParameter, withCharset } from "./encodings.js";
export { CorruptDocumentError, UnsupportedFormatError, type Block } from "./blocks.js";
