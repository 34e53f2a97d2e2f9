import { UnrecoverableError } from "bullmq";
import { encodeFailure, type FailureCode, type JobFailure } from "@herd/jobs";
import { OllamaError, type OllamaErrorKind } from "@herd/ollama-client";

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

export function invalidPayload(message: string, instance: string): UnrecoverableError {
  return new UnrecoverableError(encodeFailure({ code: "bad_request", message: `invalid job payload: ${message}`, instance }));
}
