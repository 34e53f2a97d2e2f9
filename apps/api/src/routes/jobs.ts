import { Router, type Request, type Response } from "express";
import { isJobKind, JobRequest } from "@herd/jobs";
import { ApiError, isConnectionError, redisUnavailable } from "../errors.js";
import type { JobStore } from "../job-store.js";
import type { QueueRegistry } from "../queues.js";
import { submitJob, type SubmitDeps } from "../submit.js";

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
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
    const message = issue?.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(", ")}` : (issue?.message ?? "invalid");
    throw new ApiError(400, "invalid_request", `${field}: ${message}`);
  }
  return parsed.data;
}

function abortOnClose(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on("close", () => controller.abort());
  return controller.signal;
}

function sendJsonText(res: Response, status: number, text: string): void {
  res.status(status).type("application/json").send(text);
}

async function readOrThrow(store: JobStore, id: string): Promise<string> {
  const view = await store.read(id);
  if (view === undefined) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
  return view;
}

async function withRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionError(error)) throw redisUnavailable();
    throw error;
  }
}

export function jobsRouter(deps: JobsRouteDeps): Router {
  const router = Router();
  const { store, queues } = deps;

  router.post("/v1/jobs", async (req: Request, res: Response) => {
    if (!req.is("application/json")) throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
    const wait = parseWait(req.query["wait"], deps.config.limits.maxWaitMs);
    const request = parseJobRequest(req.body);
    const outcome = await submitJob(deps, request);
    if (outcome.kind === "cached") return sendJsonText(res, 200, outcome.body);
    res.setHeader("Location", `/v1/jobs/${outcome.id}`);
    if (wait > 0) {
      const parsed = store.parse(outcome.id);
      const finished = parsed ? await withRedis(() => queues.waitFor(outcome.queue, outcome.id, wait, () => store.isFinished(parsed, outcome.id), abortOnClose(res))) : false;
      if (finished) {
        const view = await withRedis(() => store.read(outcome.id));
        if (view !== undefined) return sendJsonText(res, 200, view);
      }
    }
    const view = wait > 0 ? await withRedis(() => store.read(outcome.id)) : undefined;
    const status = view ? (JSON.parse(view) as { status: string }).status : "queued";
    res.status(202).json({ id: outcome.id, status });
  });

  router.get("/v1/jobs/:id", async (req: Request, res: Response) => {
    const id = String(req.params["id"]);
    const wait = parseWait(req.query["wait"], deps.config.limits.maxWaitMs);
    const parsed = store.parse(id);
    if (!parsed) throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
    if (deps.redis.status !== "ready") throw redisUnavailable();
    if (wait > 0) await withRedis(() => queues.waitFor(parsed.queue, id, wait, () => store.isFinished(parsed, id), abortOnClose(res)));
    sendJsonText(res, 200, await withRedis(() => readOrThrow(store, id)));
  });

  router.delete("/v1/jobs/:id", async (req: Request, res: Response) => {
    const id = String(req.params["id"]);
    if (deps.redis.status !== "ready") throw redisUnavailable();
    const outcome = await withRedis(() => store.cancel(id));
    switch (outcome) {
      case "not_found":
        throw new ApiError(404, "job_not_found", `job ${JSON.stringify(id)} is unknown or has expired`);
      case "running":
        throw new ApiError(409, "job_running", "the job is already running on an instance and cannot be canceled");
      case "finished":
        throw new ApiError(409, "job_finished", "the job has already finished");
      case "canceled":
        sendJsonText(res, 200, await withRedis(() => readOrThrow(store, id)));
    }
  });

  return router;
}
