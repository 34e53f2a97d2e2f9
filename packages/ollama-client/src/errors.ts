/**
 * Every way a call to Ollama can fail, decided here and nowhere else:
 * - retryable (another attempt, possibly on another instance, may succeed):
 *   connection, timeout, server (5xx), busy (503/429), invalid_response;
 * - unrecoverable (the request itself is wrong): bad_request (400), model_not_found (404);
 * - aborted: the caller canceled; neither retried nor counted against the instance.
 */
export type OllamaErrorKind = "connection" | "timeout" | "server" | "busy" | "invalid_response" | "bad_request" | "model_not_found" | "aborted";

const RETRYABLE: Record<OllamaErrorKind, boolean> = {
  connection: true,
  timeout: true,
  server: true,
  busy: true,
  invalid_response: true,
  bad_request: false,
  model_not_found: false,
  aborted: false,
};

/** Whether a failure of this kind says something about the instance's health. */
const INSTANCE_FAULT: Record<OllamaErrorKind, boolean> = {
  connection: true,
  timeout: true,
  server: true,
  busy: false,
  invalid_response: true,
  bad_request: false,
  model_not_found: false,
  aborted: false,
};

export class OllamaError extends Error {
  readonly kind: OllamaErrorKind;
  readonly status: number | undefined;
  readonly instance: string;

  constructor(kind: OllamaErrorKind, message: string, instance: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OllamaError";
    this.kind = kind;
    this.status = options.status;
    this.instance = instance;
  }

  get retryable(): boolean {
    return RETRYABLE[this.kind];
  }

  /** True when the instance itself misbehaved (counts towards marking it unhealthy). */
  get instanceFault(): boolean {
    return INSTANCE_FAULT[this.kind];
  }
}

/**
 * Ollama's runner refuses an image it cannot take with a 500 ("Failed to create new sequence:
 * failed to process inputs: ..."), though the request, not the instance, is at fault: the same
 * image fails on every instance, so retrying it would only burn attempts and mark healthy
 * instances as failing.
 */
const REQUEST_FAULT_500 = /failed to process inputs|missing data required for image input|received zero length image|image: unknown format/i;

export function kindForStatus(status: number, message = ""): OllamaErrorKind {
  if (status === 404) return "model_not_found";
  if (status === 503 || status === 429) return "busy";
  if (status >= 500) return REQUEST_FAULT_500.test(message) ? "bad_request" : "server";
  if (status === 408) return "timeout";
  return "bad_request";
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies an exception thrown by undici (no HTTP status was received). */
export function classifyTransportError(error: unknown, instance: string, reason: "deadline" | "caller" | "instance" | undefined): OllamaError {
  if (reason === "caller") return new OllamaError("aborted", "request aborted by caller", instance, { cause: error });
  if (reason === "instance") return new OllamaError("connection", "instance stopped responding and was taken out of rotation", instance, { cause: error });
  if (error instanceof OllamaError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (reason === "deadline") return new OllamaError("timeout", "request deadline exceeded", instance, { cause: error });
  const code = errorCode(error);
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return new OllamaError("timeout", `${code}: ${message}`, instance, { cause: error });
  if (code && CONNECTION_CODES.has(code)) return new OllamaError("connection", `${code}: ${message}`, instance, { cause: error });
  return new OllamaError("connection", message, instance, { cause: error });
}
