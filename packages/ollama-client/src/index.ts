export { OllamaClient, heldBeforeRunningMs, type OllamaClientOptions, type EmbedParams, type EmbedOutput, type GenerateParams, type ChatParams, type GenerationOutput, type StreamOptions, type ModelInfo } from "./client.js";
export { OllamaError, kindForStatus, classifyTransportError, type OllamaErrorKind } from "./errors.js";
export type { CallOptions } from "./transport.js";
export { validateVectors, vectorTexts } from "./validate.js";
export type { Logprob, TagsResponse } from "./schemas.js";
