import { UnrecoverableError, type Job } from "bullmq";
import { encodeFailure, parseQueueName, type FailureCode, type JobFailure, type JobKind } from "@herd/jobs";
import { OllamaError, type OllamaErrorKind } from "@herd/ollama-client";
import type { InstanceMonitor } from "./instance-monitor.js";

const CODE_FOR_KIND: Record<OllamaErrorKind, FailureCode> = {
  connection: "instance_unavailable",
  busy: "instance_unavailable",
  server: "instance_unavailable",
  timeout: "timeout",
  invalid_response: "invalid_response",
  bad_request: "bad_request",
  model_not_found: "model_not_found",
  aborted: "canceled",
};

/**
 * Turns any processor failure into what BullMQ should do with it: the Ollama client's
 * classification decides between a retry (plain Error) and an immediate failure
 * (UnrecoverableError). The message is the encoded JobFailure the API shows to clients.
 */
export function toJobError(error: unknown, instance: string): Error {
  if (error instanceof OllamaError) {
    const failure: JobFailure = { code: CODE_FOR_KIND[error.kind], message: error.message, instance };
    return error.retryable ? new Error(encodeFailure(failure)) : new UnrecoverableError(encodeFailure(failure));
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UnrecoverableError(encodeFailure({ code: "internal", message, instance }));
}

/**
 * Whether a failed call's job goes back to the queue without spending an attempt: the worker is
 * stopping, or the instance no longer has the model (its binding closes) while another instance
 * serves it, which then takes the job instead of it failing as model_not_found. Gone everywhere,
 * it fails: handed back, it would wait for a model nothing serves.
 */
export async function handedBack(
  error: unknown,
  job: Pick<Job, "queueName">,
  deps: { monitor: Pick<InstanceMonitor, "modelGone">; model: string; servedElsewhere: (kind: JobKind) => boolean; shutdownSignal: AbortSignal },
): Promise<boolean> {
  if (!(error instanceof OllamaError)) return false;
  if (error.kind === "aborted") return deps.shutdownSignal.aborted;
  const kind = parseQueueName(job.queueName)?.kind;
  return error.kind === "model_not_found" && kind !== undefined && (await deps.monitor.modelGone(deps.model)) && deps.servedElsewhere(kind);
}

function invalidPayload(message: string, instance: string): UnrecoverableError {
  return new UnrecoverableError(encodeFailure({ code: "bad_request", message: `invalid job payload: ${message}`, instance }));
}

function workerOutdated(fields: readonly string[], instance: string): Error {
  const message = `this worker does not know the job field${fields.length > 1 ? "s" : ""} ${fields.join(", ")}: a newer API queued it; upgrade the workers before the API processes`;
  return new Error(encodeFailure({ code: "worker_outdated", message, instance }));
}

/**
 * A job payload the catalog (strict schemas) refused. When all it found were fields it does not
 * know, at the top or inside (a chat message's new field), an API newer than the worker queued
 * the job (workers must be upgraded first). Parsing them away would run a different request than
 * the client sent (say, without its images), whose answer would even be cached under the client's
 * request: worker_outdated instead, retryable, since during a rolling upgrade the retry may reach
 * an upgraded worker; where none is, the job fails saying why. Anything else is a payload no
 * worker can run.
 */
export function payloadError(error: { message: string; issues: ReadonlyArray<{ code: string; path: ReadonlyArray<PropertyKey>; keys?: readonly string[] }> }, instance: string): Error {
  const unknown = error.issues.flatMap((issue) => (issue.code === "unrecognized_keys" ? (issue.keys ?? []).map((key) => [...issue.path.map(String), key].join(".")) : [null]));
  if (unknown.length > 0 && unknown.every((field) => field !== null)) return workerOutdated(unknown as string[], instance);
  return invalidPayload(error.message, instance);
}
