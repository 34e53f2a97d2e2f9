import type { ApiError } from "../errors.js";
import { newId } from "./respond.js";

const OPENAI_TYPES: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error" };

/**
 * An API error in the shape each drop-in API's clients parse: Ollama's `{ "error": "…" }` with its
 * status codes, OpenAI's `{ "error": { message, type, param, code } }`, or Anthropic's
 * `{ "type": "error", "error": { type, message }, "request_id" }`.
 */
const ANTHROPIC_TYPES: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error", 529: "overloaded_error" };

export function dialectError(dialect: "ollama" | "openai" | "anthropic", error: ApiError | undefined, body: unknown): { status: number; body: unknown } {
  const status = error?.status ?? 500;
  const code = error?.code ?? "internal";
  const model = typeof (body as { model?: unknown } | undefined)?.model === "string" ? (body as { model: string }).model : undefined;
  let message = error?.message ?? "internal error; see the server log";
  if (dialect === "ollama") {
    // Ollama's own words where clients may match on them.
    if (code === "model_not_served" && model) message = `model '${model}' not found`;
    if (code === "queue_full") return { status: 503, body: { error: "server busy, please try again.  maximum pending requests exceeded" } };
    return { status, body: { error: message } };
  }
  if (dialect === "anthropic") {
    if (code === "model_not_served" && model) message = `model '${model}' not found`;
    return { status, body: { type: "error", error: { type: ANTHROPIC_TYPES[status] ?? "api_error", message }, request_id: newId("req_") } };
  }
  if (code === "model_not_served" && model) message = `The model '${model}' does not exist or no live worker serves it`;
  const param = (error?.extra.details?.["param"] as string | null | undefined) ?? (code === "model_not_served" ? "model" : null);
  return { status, body: { error: { message, type: OPENAI_TYPES[status] ?? "api_error", param, code } } };
}
