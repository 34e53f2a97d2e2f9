import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import type { ApiConfig } from "@herd/config";
import type { JobRequest, JobView } from "@herd/jobs";
import { clientFamily } from "@herd/metrics";
import { ApiError } from "../errors.js";
import { quotaKeyOf, tenantOf } from "../auth.js";
import { abortOnClose } from "../routes/jobs.js";
import { runInteractive, type InteractiveOptions } from "../interactive.js";
import type { SyncDeps } from "../sync.js";

/** Job failure codes → the HTTP status a drop-in client gets. */
const STATUS_FOR_FAILURE: Record<string, number> = {
  bad_request: 400,
  model_not_found: 404,
  canceled: 499,
  timeout: 504,
};

/** A failed job as an API error (the dialect's error handler shapes it). */
export function failedJob(view: JobView): ApiError {
  const code = view.error?.code ?? "internal";
  return new ApiError(STATUS_FOR_FAILURE[code] ?? 502, code, view.error?.message ?? `the ${view.type} job failed`);
}

/**
 * How a drop-in request runs its job (see runInteractive): the sync timeout, an AbortSignal that
 * fires when the client goes away before the response is complete, the client family, the tenant
 * and the API key's quota.
 */
export function requestContext(config: Pick<ApiConfig, "syncTimeoutMs" | "auth">, req: Request, res: Response): InteractiveOptions {
  return { timeoutMs: config.syncTimeoutMs, signal: abortOnClose(res), client: clientFamily(req.get("user-agent")), tenant: tenantOf(res), key: quotaKeyOf(res, config.auth.defaultConcurrency) };
}

/**
 * Runs `n` choices of one request at once (OpenAI's `n`): each is a job of its own, so the fleet
 * serves them side by side. The first that fails fails the request and cancels the others' jobs.
 */
export async function runChoices<T>(n: number, context: InteractiveOptions, run: (index: number, context: InteractiveOptions) => Promise<T>): Promise<T[]> {
  if (n === 1) return [await run(0, context)];
  const controller = new AbortController();
  const abort = () => controller.abort();
  context.signal.addEventListener("abort", abort, { once: true });
  try {
    return await Promise.all(
      Array.from({ length: n }, (_, index) =>
        run(index, { ...context, signal: controller.signal }).catch((error: unknown) => {
          controller.abort();
          throw error;
        }),
      ),
    );
  } finally {
    context.signal.removeEventListener("abort", abort);
  }
}

/** Runs the request as an interactive job and returns its view once completed; a failure is thrown as the API error it maps to. */
export async function runCompleted(deps: SyncDeps, request: JobRequest, options: InteractiveOptions): Promise<JobView> {
  const view = await runInteractive(deps, request, options);
  if (view.status !== "completed") throw failedJob(view);
  return view;
}

/** Writes one line or event of a streamed response, sending the headers with the first one. */
export function streamWriter(res: Response, contentType: string): { write: (text: string) => void; started: () => boolean } {
  let started = false;
  return {
    write(text: string) {
      if (!started) {
        started = true;
        res.status(200);
        res.setHeader("Content-Type", contentType);
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        res.flushHeaders();
      }
      res.write(text);
    },
    started: () => started,
  };
}

/**
 * Runs a streamed answer to its end. A failure once the stream has started (its 200 sent) is
 * reported inside the stream by `report`, as each API's clients expect it; before that, it goes
 * to the error handler, which answers with the right status.
 */
export async function runStream(res: Response, writer: { started: () => boolean }, run: () => Promise<void>, report: (error: ApiError) => void): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!writer.started() || !(error instanceof ApiError)) throw error;
    report(error);
  }
  res.end();
}

/** An id for a response object, in the API's style (`chatcmpl-…`, `resp_…`, `msg_…`): the prefix and 96 random bits. */
export const newId = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`;

export const nanoseconds = (ms: number) => Math.round(ms * 1e6);
