export * from "./models.js";
export * from "./job-ids.js";
export * from "./requests.js";
export * from "./payloads.js";
export * from "./failures.js";
export * from "./catalog.js";
export * from "./keys.js";
export * from "./views.js";
