import type { JobRequest, JobView, Logprob, ToolCall } from "@herd/jobs";
import { publishOn } from "@herd/redis";
import { ApiError } from "./errors.js";
import { chunksToString } from "./job-store.js";
import { knownState, waitVia, type Subscription } from "./queues.js";
import { StreamAssembler, type EmitPiece } from "./stream-assembler.js";
import { submitJob } from "./submit.js";
import type { SyncDeps } from "./sync.js";

export interface InteractiveOptions {
  timeoutMs: number;
  /** Aborts when the client goes away: a job this request created is then canceled. */
  signal: AbortSignal;
  /** Client family for metrics. */
  client: string;
  /** Owner of the job; identical requests coalesce only within a tenant. */
  tenant?: string;
  /** The API key, for its concurrency quota. */
  key?: { id: string; concurrency: number | undefined } | undefined;
  /**
   * Generation only: called with each new piece of text as the worker produces it, and the log
   * probabilities of its tokens when the request asked for them.
   */
  onText?: EmitPiece;
  /** With onText, for a thinking model: called with each new piece of its thinking (before the text). */
  onThinking?: EmitPiece;
  /** Answer from the cache or fail (see SubmitOptions.cachedOnly). */
  cachedOnly?: boolean;
}

/** A finished generation's thinking (`thinking`, or a chat's `message.thinking`), or "". */
export function thinkingOf(result: unknown): string {
  const body = (result ?? {}) as { thinking?: unknown; message?: { thinking?: unknown } };
  if (typeof body.thinking === "string") return body.thinking;
  return typeof body.message?.thinking === "string" ? body.message.thinking : "";
}

/** A finished generation's log probabilities (requests with `logprobs`), or none. */
export function logprobsOf(result: unknown): Logprob[] {
  const logprobs = (result as { logprobs?: unknown } | null | undefined)?.logprobs;
  return Array.isArray(logprobs) ? (logprobs as Logprob[]) : [];
}

/** The tools a finished chat's result called (`message.tool_calls`), or none. */
export function toolCallsOf(result: unknown): ToolCall[] {
  const calls = (result as { message?: { tool_calls?: unknown } } | null | undefined)?.message?.tool_calls;
  return Array.isArray(calls) ? (calls as ToolCall[]) : [];
}

/** The text of a finished generation's result (`response`, or a chat's `message.content`). */
export function generatedText(result: unknown): string {
  const body = (result ?? {}) as { response?: unknown; message?: { content?: unknown } };
  if (typeof body.response === "string") return body.response;
  return typeof body.message?.content === "string" ? body.message.content : "";
}

/** A finished job's token counts: the prompt's (an embedding's inputs) and the output's (0 where none was counted). */
export function tokenCounts(result: unknown): { prompt: number; output: number } {
  const { prompt_eval_count: prompt = 0, eval_count: output = 0 } = (result ?? {}) as { prompt_eval_count?: number; eval_count?: number };
  return { prompt, output };
}

/** Whether a finished generation stopped at its token limit (num_predict, or a full context without shift). */
export function cutAtLimit(result: unknown): boolean {
  return (result as { done_reason?: unknown } | null | undefined)?.done_reason === "length";
}

/**
 * Cancels a job on behalf of a client that went away: a queued job is removed; a running one is
 * aborted by the worker running it (through the cancel channel), which frees its slot.
 */
export async function cancelJob(deps: SyncDeps, id: string): Promise<void> {
  const outcome = await deps.store.cancel(id);
  if (outcome === "running") await publishOn(deps.redis, deps.keys.cancelChannel, id);
  deps.logger.debug({ jobId: id, outcome }, "client went away; job canceled");
}

/**
 * Runs one request to completion for a client that waits on the connection (the drop-in Ollama and
 * OpenAI endpoints): cache, queue at interactive priority, optional token streaming. A job this
 * request created is canceled when the client goes away or the deadline passes; a job it merely
 * joined (an identical request already queued) is left to the others waiting on it.
 */
export async function runInteractive(deps: SyncDeps, request: JobRequest, options: InteractiveOptions): Promise<JobView> {
  let subscription: Subscription | undefined;
  let stopProgress: (() => void) | undefined;
  const assembler = options.onText ? new StreamAssembler(options.onText, options.onThinking) : undefined;
  // A streamed generation never gets a reply (submit.ts): it goes by the events.
  const replyTo = assembler ? undefined : deps.queues.replies?.replyTo;
  try {
    const outcome = await submitJob(deps, request, {
      client: options.client,
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(options.key ? { key: options.key } : {}),
      stream: assembler !== undefined,
      replyTo,
      ...(options.cachedOnly ? { cachedOnly: true } : {}),
      beforeEnqueue: (id, queue) => {
        subscription = deps.queues.subscribe(queue, id, { viaReply: replyTo !== undefined });
        if (assembler) stopProgress = deps.queues.onProgress(queue, id, (data) => assembler.piece(data));
        return subscription.listening;
      },
    });
    if (outcome.kind === "cached") {
      const view = JSON.parse(chunksToString(outcome.body)) as JobView;
      assembler?.finish(generatedText(view.result), thinkingOf(view.result), logprobsOf(view.result));
      return view;
    }
    const fresh = subscription?.id === outcome.id;
    if (!fresh) {
      subscription?.cancel();
      subscription = deps.queues.subscribe(outcome.queue, outcome.id);
    }
    const parsed = deps.store.parse(outcome.id);
    if (!parsed) throw new Error(`unparseable job id ${outcome.id}`);
    const finished = await deps.queues.waitFor(subscription as Subscription, options.timeoutMs, () => deps.store.isFinished(parsed, outcome.id), {
      signal: options.signal,
      checkFirst: !fresh,
    });
    deps.jobMetrics.waits.inc({ via: waitVia(finished) });
    if (!finished) {
      if (fresh) await cancelJob(deps, outcome.id);
      if (options.signal.aborted) throw new ApiError(499, "client_closed", "the client went away");
      throw new ApiError(504, "upstream_timeout", `the ${request.type} job did not finish within ${options.timeoutMs}ms; it was canceled`);
    }
    const stored = (typeof finished === "object" ? deps.store.fromReply(outcome.id, finished) : undefined) ?? (await deps.store.read(outcome.id, knownState(finished)));
    if (!stored) throw new ApiError(502, "upstream_failed", `the ${request.type} job's result expired before it was read`);
    const view = JSON.parse(chunksToString(stored)) as JobView;
    if (assembler && view.status === "completed" && !assembler.finish(generatedText(view.result), thinkingOf(view.result), logprobsOf(view.result))) {
      throw new ApiError(502, "stream_diverged", "the instance failed mid-generation and the retry produced different text than was already sent");
    }
    return view;
  } finally {
    stopProgress?.();
    subscription?.cancel();
  }
}
