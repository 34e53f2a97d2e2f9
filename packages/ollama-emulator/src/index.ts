export { EmulatorInstance, EMULATED_OLLAMA_VERSION, ADMIN_PREFIX, type EmulatorOptions } from "./instance.js";
export type { EmbedCall } from "./context.js";
export { EmulatorFleet, type FleetOptions } from "./fleet.js";
export { DEFAULT_MODELS, capabilitiesOf, completeModelSpec, withLatestTag, type ModelSpec } from "./catalog.js";
export { FaultSpec, NO_FAULT, RUNNER_STOPPED_MESSAGE } from "./faults.js";
export { LATENCY_PRESETS, type LatencyProfile, type LatencyPresetName } from "./latency.js";
export type { ModelStats } from "./stats.js";
export { embedText, applyDimensions } from "./embedding.js";
export { countTokens, tokenize } from "./text.js";
