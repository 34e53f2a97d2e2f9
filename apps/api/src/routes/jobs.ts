import { Router, type Request, type Response } from "express";
import { isJobKind, JobRequest } from "@herd/jobs";
import { clientFamily } from "@herd/metrics";
import { quotaKeyOf, tenantOf } from "../auth.js";
import { ApiError, invalidRequest, redisFailure, redisUnavailable } from "../errors.js";
import { chunksToString, type JobStore, type JsonChunks } from "../job-store.js";
import { knownState, waitVia, type QueueRegistry, type Subscription } from "../queues.js";
import { ServerTiming } from "../server-timing.js";
import { submitJob, type SubmitDeps, type SubmitOptions } from "../submit.js";

export interface JobsRouteDeps extends SubmitDeps {
  store: JobStore;
  queues: QueueRegistry;
}

/** `?wait=<ms>`: absent means 0; values above the configured cap are clamped to it. */
export function parseWait(raw: unknown, maxWaitMs: number): number {
  if (raw === undefined) return 0;
  if (typeof raw !== "string" || !/^\d{1,9}$/.test(raw)) {
    throw new ApiError(400, "invalid_wait", `wait: expected a whole number of milliseconds between 0 and ${maxWaitMs}`);
  }
  return Math.min(Number(raw), maxWaitMs);
}

/**
 * Other APIs' names for a job's fields, by job type: an embedding's text is its input, a
 * generation's its prompt, and OpenAI's top-level sampling settings are Ollama options.
 */
const JOB_ALIASES: Readonly<Record<"embed" | "generate", Readonly<Record<string, string>>>> = {
  embed: { text: "input", inputs: "input", query: "input", prompt: "input" },
  generate: {
    text: "prompt",
    query: "prompt",
    input: "prompt",
    temperature: "options.temperature",
    top_p: "options.top_p",
    seed: "options.seed",
    max_tokens: "options.num_predict",
    stop: "options.stop",
  },
};

export function parseJobRequest(body: unknown): JobRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "invalid_request", "body: must be a JSON object");
  }
  const type = (body as { type?: unknown }).type;
  if (type === undefined) throw new ApiError(400, "invalid_request", 'type: required ("embed" or "generate")');
  if (typeof type !== "string" || !isJobKind(type)) {
    throw new ApiError(400, "unknown_job_type", `type: unknown job type ${JSON.stringify(type)}; expected "embed" or "generate"`);
  }
  const parsed = JobRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error, JOB_ALIASES[type]);
  return parsed.data;
}

/**
 * Fires when the client's connection closes before the response is complete. A finished response
 * also emits "close", but aborting then would build a DOMException (with a stack trace) per request
 * for nobody: measurable on the synchronous path.
 */
export function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Writes a prepared JSON body. Skips res.send()'s content negotiation and ETag work: these bodies
 * are built once, as bytes, and often carry kilobytes of vectors.
 */
function sendJsonText(res: Response, status: number, body: JsonChunks): void {
  let length = 0;
  for (const chunk of body) length += chunk.length;
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": length });
  res.cork();
  for (const chunk of body) res.write(chunk);
  res.end();
  res.uncork();
}

async function readOrThrow(store: JobStore, id: string, knownState: "completed" | "failed" | undefined, tenant: string): Promise<JsonChunks> {
  const view = await store.read(id, knownState, tenant);
  if (view === undefined) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
  return view;
}

/** Waits (up to `wait` ms) for a subscribed job, then reads its view. */
async function waitAndRead(deps: JobsRouteDeps, id: string, subscription: Subscription, wait: number, checkFirst: boolean, signal: AbortSignal, tenant: string, timing: ServerTiming): Promise<{ finished: boolean; text: JsonChunks }> {
  const parsed = deps.store.parse(id);
  if (!parsed) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
  const outcome = await withRedis(() => deps.queues.waitFor(subscription, wait, () => deps.store.isFinished(parsed, id), { signal, checkFirst }));
  const via = waitVia(outcome);
  deps.jobMetrics.waits.inc({ via });
  const waitedMs = timing.mark("wait", via === "timeout" ? "waited, not finished" : `queued and running, answered by ${via}`);
  if (typeof outcome === "object") {
    if (outcome.header.timing) timing.splitWait(waitedMs, outcome.header.timing);
    const replied = deps.store.fromReply(id, outcome);
    if (replied) return { finished: true, text: replied };
  }
  const text = await withRedis(() => readOrThrow(deps.store, id, knownState(outcome), tenant));
  timing.mark("read", "job read from Redis");
  return { finished: outcome !== undefined, text };
}

async function withRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw redisFailure(error) ?? error;
  }
}

/**
 * Submits a job and answers like POST /v1/jobs: 200 with the job view for a cache hit or a job
 * that finished within `wait`, else 202 with its id, status and Location.
 */
export async function submitAndRespond(deps: JobsRouteDeps, res: Response, request: JobRequest, wait: number, options: Pick<SubmitOptions, "answer"> = {}, timing = new ServerTiming(res)): Promise<void> {
  const { queues } = deps;
  let subscription: Subscription | undefined;
  const replyTo = wait > 0 ? queues.replies?.replyTo : undefined;
  try {
    const outcome = await submitJob(deps, request, {
      ...options,
      client: clientFamily(res.req.get("user-agent")),
      tenant: tenantOf(res),
      key: quotaKeyOf(res, deps.config.auth.defaultConcurrency),
      beforeEnqueue:
        wait > 0
          ? (id, queue) => {
              subscription = queues.subscribe(queue, id, { viaReply: replyTo !== undefined });
              return subscription.listening;
            }
          : undefined,
      replyTo,
    });
    if (outcome.kind === "cached") {
      timing.mark("cache", "validated, answered from the cache");
      return sendJsonText(res, 200, outcome.body);
    }
    timing.mark("enqueue", "validated, cache missed, job queued");
    res.setHeader("Location", `/v1/jobs/${outcome.id}`);
    if (wait === 0) return outcome.joined ? respondJoined(deps, res, outcome.id) : void res.status(202).json({ id: outcome.id, status: "queued" });
    const fresh = subscription !== undefined && subscription.id === outcome.id;
    if (!fresh) {
      // Coalesced into an existing job, which may be done already: subscribe to it and check.
      subscription?.cancel();
      subscription = queues.subscribe(outcome.queue, outcome.id);
    }
    const view = await waitAndRead(deps, outcome.id, subscription as Subscription, wait, !fresh, abortOnClose(res), tenantOf(res), timing);
    if (view.finished) return sendJsonText(res, 200, view.text);
    res.status(202).json({ id: outcome.id, status: (JSON.parse(chunksToString(view.text)) as { status: string }).status });
  } finally {
    subscription?.cancel();
  }
}

/**
 * Without `wait`, a request that joined an existing job answers with that job's real state: it may
 * be running, or have completed moments ago (see COALESCE_GRACE_MS), in which case its view is the
 * answer, as if it had finished within the wait.
 */
async function respondJoined(deps: JobsRouteDeps, res: Response, id: string): Promise<void> {
  const view = await withRedis(() => deps.store.read(id, undefined, tenantOf(res)));
  // Gone already (retention is bounded): the client's poll will say so; the submit itself succeeded.
  if (view === undefined) return void res.status(202).json({ id, status: "queued" });
  const { status } = JSON.parse(chunksToString(view)) as { status: string };
  if (status === "completed" || status === "failed") return sendJsonText(res, 200, view);
  res.status(202).json({ id, status });
}

export function jobsRouter(deps: JobsRouteDeps): Router {
  const router = Router();
  const { store, queues } = deps;

  router.post("/v1/jobs", async (req: Request, res: Response) => {
    const timing = new ServerTiming(res);
    // express.json() leaves the body undefined exactly when the Content-Type is not JSON.
    if (req.body === undefined) throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
    const wait = parseWait(req.query["wait"], deps.config.limits.maxWaitMs);
    await submitAndRespond(deps, res, parseJobRequest(req.body), wait, {}, timing);
  });

  router.get("/v1/jobs/:id", async (req: Request, res: Response) => {
    const id = String(req.params["id"]);
    const wait = parseWait(req.query["wait"], deps.config.limits.maxWaitMs);
    const parsed = store.parse(id);
    if (!parsed) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
    if (deps.redis.status !== "ready") throw redisUnavailable();
    const tenant = tenantOf(res);
    if (wait === 0) return sendJsonText(res, 200, await withRedis(() => readOrThrow(store, id, undefined, tenant)));
    // Another tenant's job answers 404 at once, exactly like an unknown id (no waiting on it).
    if ((await withRedis(() => store.owner(id))) !== tenant) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
    const timing = new ServerTiming(res);
    const subscription = queues.subscribe(parsed.queue, id);
    try {
      const view = await waitAndRead(deps, id, subscription, wait, true, abortOnClose(res), tenant, timing);
      sendJsonText(res, 200, view.text);
    } finally {
      subscription.cancel();
    }
  });

  router.delete("/v1/jobs/:id", async (req: Request, res: Response) => {
    const id = String(req.params["id"]);
    if (deps.redis.status !== "ready") throw redisUnavailable();
    const tenant = tenantOf(res);
    const outcome = await withRedis(() => store.cancel(id, tenant));
    switch (outcome) {
      case "not_found":
        throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
      case "running":
        throw new ApiError(409, "job_running", "the job is already running on an instance and cannot be canceled");
      case "finished":
        throw new ApiError(409, "job_finished", "the job has already finished");
      case "canceled":
        deps.logger.debug({ jobId: id }, "job canceled");
        sendJsonText(res, 200, await withRedis(() => readOrThrow(store, id, undefined, tenant)));
    }
  });

  return router;
}
