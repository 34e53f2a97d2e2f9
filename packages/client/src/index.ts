export { HerdClient, HerdError, type HerdClientOptions, type WaitOptions } from "./client.js";
export type * from "./types.js";
