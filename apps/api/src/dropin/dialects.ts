import type { ApiError } from "../errors.js";

const OPENAI_TYPES: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error" };

/**
 * An API error in the shape each drop-in API's clients parse: Ollama's `{ "error": "…" }` with its
 * status codes, or OpenAI's `{ "error": { message, type, param, code } }`.
 */
export function dialectError(dialect: "ollama" | "openai", error: ApiError | undefined, body: unknown): { status: number; body: unknown } {
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
  if (code === "model_not_served" && model) message = `The model '${model}' does not exist or no live worker serves it`;
  const param = (error?.extra.details?.["param"] as string | null | undefined) ?? (code === "model_not_served" ? "model" : null);
  return { status, body: { error: { message, type: OPENAI_TYPES[status] ?? "api_error", param, code } } };
}
