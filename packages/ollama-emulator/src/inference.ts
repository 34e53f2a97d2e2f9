import type { IncomingMessage, ServerResponse } from "node:http";
import type { ModelSpec } from "./catalog.js";
import type { InstanceContext } from "./context.js";
import { RUNNER_STOPPED_MESSAGE } from "./faults.js";
import { HttpError, RawJson, sendError, sendJson } from "./http.js";
import { AbortedWaitError } from "./semaphore.js";
import { ServerBusyError } from "./scheduler.js";

/** Marks the end of a request in the counters exactly once, before its last byte is written. */
export class RequestLife {
  #ended = false;

  constructor(
    private readonly ctx: InstanceContext,
    private readonly model: string,
    readonly signal: AbortSignal,
  ) {
    ctx.stats.requestStarted(model);
  }

  end(outcome: "completed" | "error" | "canceled"): void {
    if (this.#ended) return;
    this.#ended = true;
    this.ctx.stats.requestEnded(this.model, outcome);
  }
}

function abortOnDisconnect(req: IncomingMessage, res: ServerResponse): AbortController {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new AbortedWaitError());
  };
  res.on("close", onClose);
  req.on("aborted", onClose);
  return controller;
}

/**
 * Runs an inference handler with Ollama's surrounding behaviour: client disconnects cancel the
 * work, injected faults apply, scheduler errors become 503/500, and a handler's result is sent
 * as JSON (or replaced by a malformed body when that fault is on).
 */
export async function runInference(
  ctx: InstanceContext,
  req: IncomingMessage,
  res: ServerResponse,
  spec: ModelSpec,
  handler: (life: RequestLife) => Promise<unknown>,
): Promise<void> {
  const controller = abortOnDisconnect(req, res);
  const life = new RequestLife(ctx, spec.name, controller.signal);
  try {
    if (ctx.faults.hits("hang", true)) {
      await new Promise((resolve) => controller.signal.addEventListener("abort", resolve, { once: true }));
      life.end("canceled");
      return;
    }
    if (ctx.faults.hits("error", true)) {
      life.end("error");
      sendError(res, ctx.faults.spec.status, RUNNER_STOPPED_MESSAGE);
      return;
    }
    const body = await handler(life);
    if (body === undefined) {
      life.end("completed");
      return;
    }
    life.end("completed");
    if (ctx.faults.hits("malformed", true)) {
      const text = body instanceof RawJson ? body.text : JSON.stringify(body);
      res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
      res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      return;
    }
    sendJson(res, 200, body);
  } catch (error) {
    if (controller.signal.aborted || error instanceof AbortedWaitError) {
      life.end("canceled");
      return;
    }
    life.end("error");
    if (error instanceof HttpError) sendError(res, error.status, error.message);
    else if (error instanceof ServerBusyError) sendError(res, 503, error.message);
    else sendError(res, 500, (error as Error).message);
  }
}
