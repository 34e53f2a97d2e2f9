export { createServer, type ServerDeps } from "./server.js";
export { createApiRuntime, type ApiRuntime } from "./runtime.js";
export { ApiError } from "./errors.js";
export { submitJob, type SubmitDeps, type SubmitOutcome } from "./submit.js";
export { parseJobRequest, parseWait } from "./routes/jobs.js";
