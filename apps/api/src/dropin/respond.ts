import type { Request, Response } from "express";
import type { JobView } from "@herd/jobs";
import { clientFamily } from "@herd/metrics";
import { ApiError } from "../errors.js";
import { quotaKeyOf, tenantOf } from "../auth.js";
import { abortOnClose } from "../routes/jobs.js";

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
 * An AbortSignal that fires when the client goes away before the response is complete, and the
 * client family of the request, for runInteractive.
 */
export function requestContext(req: Request, res: Response, defaultConcurrency?: number): { signal: AbortSignal; client: string; tenant: string; key: ReturnType<typeof quotaKeyOf> } {
  return { signal: abortOnClose(res), client: clientFamily(req.get("user-agent")), tenant: tenantOf(res), key: quotaKeyOf(res, defaultConcurrency) };
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

export const nanoseconds = (ms: number) => Math.round(ms * 1e6);
