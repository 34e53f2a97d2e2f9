export { chunkBlocks } from "./chunker.js";
export { parseDocument } from "./formats.js";
export { parseAndChunk } from "./task.js";
