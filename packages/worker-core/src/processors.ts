import { UnrecoverableError, WaitingError, type Job } from "bullmq";
import type { RedisClient } from "@herd/redis";
import { decodeEmbeddingText, embeddingCacheKey, encodeEmbeddingEntry, shareTokens, type HerdCache } from "@herd/cache";
import { EmbedJobData, encodeFailure, GenerateJobData, PRIORITIES, type HerdKeys, type JobKind, type JobReturnValue } from "@herd/jobs";
import { OllamaError, type Logprob } from "@herd/ollama-client";
import type { BatchSlicer } from "./batch-slicer.js";
import type { InstanceMonitor } from "./instance-monitor.js";
import { handedBack, payloadError, toJobError } from "./failure.js";
import { GateClosedError, type SlotRelease } from "./slot-gate.js";
import type { JobCancels } from "./job-cancels.js";
import { TokenPublisher } from "./token-publisher.js";
import { JobClock, storeResult } from "./job-results.js";

/** The part of SlotGate a processor uses. */
export interface SlotSource {
  /** `size`: the call's input size in characters, when it predicts how long the call takes. */
  acquire(priority?: number, size?: number): Promise<SlotRelease>;
  /** Calls holding a slot now. */
  readonly inFlight: number;
}

export interface ProcessorDeps {
  monitor: InstanceMonitor;
  /** The model this binding serves on the instance, as discovered (normalised). */
  model: string;
  /** Whether another instance (this worker's, or another worker's by its last heartbeat) serves the model for `kind`. */
  servedElsewhere: (kind: JobKind) => boolean;
  gate: SlotSource;
  /** Vector length reported by the instance for this model. */
  embeddingLength: number | undefined;
  /** The worker's Redis connection (same one BullMQ completes jobs on, so results land first). */
  redis: RedisClient;
  keys: HerdKeys;
  cache: HerdCache;
  resultTtlMs: number;
  /** Stored results kept per queue, newest first (see trimResults). */
  resultKeep: number;
  timeouts: { embedMs: number; generateMs: number };
  /** Sizes the Ollama calls of batch-priority embedding jobs. */
  slicer: BatchSlicer;
  /**
   * Between two slices of a batch job, which holds `held`: lets interactive jobs waiting in the
   * queue reach the gate and take the slot first. Resolves with the slot if the job may keep it,
   * or undefined once it was handed over (the job then queues for it again).
   */
  yieldSlot: (kind: "embed" | "generate", held: SlotRelease, priority: number) => Promise<SlotRelease | undefined>;
  /** Aborted when the worker must hand its jobs back (shutdown deadline). */
  shutdownSignal: AbortSignal;
  /** Running jobs a client canceled (it went away): their Ollama calls are aborted. */
  cancels: JobCancels;
  /** A result write failed (the job's completion will fail with it and the job be retried). */
  onStoreError: (job: Job, error: unknown) => void;
  /** Trimming the queue's stored results failed (the older ones then expire with their TTL). */
  onTrimError: (job: Job, error: unknown) => void;
  /** Sending a result to the waiting API process failed (its client still hears from BullMQ). */
  onReplyError: (job: Job, error: unknown) => void;
  /**
   * Reports each Ollama call's outcome, how long it held the slot, the error class of a failure
   * and the input size given to acquire().
   */
  onCall: (outcome: "completed" | "failed", durationMs: number, errorClass?: string, size?: number) => void;
  /** After a generation: what Ollama's durations say of it, and the slots in use (its own included) when it was sent. */
  onHeld: (timing: { heldMs: number; runMs: number }, inFlight: number) => void;
  /** After a call that reported Ollama's load_duration, with the num_ctx it asked for and when it was sent (performance.now). */
  onLoad: (loadMs: number, numCtx: number | undefined, sentAt: number) => void;
}

interface SlotOptions {
  /** The slot this job already holds (kept by the previous slice of a batch job). */
  held?: SlotRelease | undefined;
  /** Keep the slot after the call, because another slice of this job follows. */
  keep?: boolean;
  /** Input size in characters, for calls whose time grows with it (embeddings). */
  size?: number;
  /** Records the wait for the slot and the call's duration, for the job's reply. */
  clock?: JobClock;
}

/**
 * Holds one of the instance's slots around `call`. `call` gets the release function so the slot
 * can be handed on the moment Ollama's answer starts (its headers mean the work is done): a job
 * already fetched (prefetched) then starts on the instance while this one's body is still being
 * parsed and its result written to Redis. That function says whether such a job took the slot
 * (the client then lets its request go out first). Releasing twice is harmless. With `keep`, the
 * slot is returned to the caller instead, for the job's next slice.
 */
export async function onSlot<T>(deps: Pick<ProcessorDeps, "gate" | "monitor" | "model" | "servedElsewhere" | "onCall" | "shutdownSignal">, job: Job, token: string | undefined, call: (slotFree: () => boolean) => Promise<T>, options: SlotOptions = {}): Promise<{ result: T; held: SlotRelease | undefined; inFlight: number; sentAt: number }> {
  let release: SlotRelease;
  const asked = performance.now();
  try {
    release = options.held ?? (await deps.gate.acquire(job.opts.priority ?? 0, options.size));
  } catch (error) {
    if (error instanceof GateClosedError && token) {
      // The binding stopped pulling while this job waited: hand it back untouched.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw error;
  }
  const started = performance.now();
  const inFlight = deps.gate.inFlight;
  options.clock?.addSlotWait(started - asked);
  let freedAt: number | undefined;
  const slotFree = () => {
    freedAt ??= performance.now();
    if (options.keep) return false;
    return release();
  };
  let kept = false;
  try {
    const result = await call(slotFree);
    deps.monitor.recordSuccess();
    const callMs = (freedAt ?? performance.now()) - started;
    options.clock?.addCall(callMs);
    deps.onCall("completed", callMs, undefined, options.size);
    kept = options.keep === true;
    return { result, held: kept ? release : undefined, inFlight, sentAt: started };
  } catch (error) {
    if (error instanceof OllamaError) deps.monitor.recordFailure(error);
    deps.onCall("failed", (freedAt ?? performance.now()) - started, error instanceof OllamaError ? error.kind : "internal", options.size);
    if (token && (await handedBack(error, job, deps))) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw toJobError(error, deps.monitor.instance.name);
  } finally {
    if (!kept) release();
  }
}

export async function processEmbed(deps: ProcessorDeps, job: Job, token: string | undefined): Promise<JobReturnValue> {
  const clock = new JobClock();
  const instance = deps.monitor.instance.name;
  const parsed = EmbedJobData.safeParse(job.data);
  if (!parsed.success) throw payloadError(parsed.error, instance);
  const data = parsed.data;
  const keyOf = (text: string) => embeddingCacheKey({ model: data.model, text, dimensions: data.dimensions, truncate: data.truncate, options: data.options, scope: data.cacheScope });
  // The API already answered full cache hits; a batch may still have some inputs cached. A single
  // input's key is only needed to store its vector, after the reply.
  const batchKeys = data.cache && data.inputs.length > 1 ? data.inputs.map(keyOf) : undefined;
  const cached = batchKeys ? (await deps.cache.getMany("embedding", batchKeys)).map((value) => (value === null ? null : decodeEmbeddingText(value))) : data.inputs.map(() => null);
  const missing = data.inputs.flatMap((text, index) => (cached[index] === null ? [{ text, index }] : []));
  const vectors: Array<string | null> = cached.map((entry) => entry?.vector ?? null);
  /** Ollama's token count of each input (see shareTokens); undefined for a cached entry without one. */
  const tokens: Array<number | undefined> = cached.map((entry) => entry?.tokens);
  if (missing.length > 0) {
    const expectedLength = data.dimensions && deps.embeddingLength ? Math.min(data.dimensions, deps.embeddingLength) : deps.embeddingLength;
    // Batch jobs go to Ollama in slices, giving the slot back between slices: an interactive job
    // fetched meanwhile waits for one slice, not for a whole batch (embedding models have one slot).
    // The slot is kept from one slice to the next unless a job of higher priority wants it, so
    // the pull loop does not see a free slot (and fetch another batch job) between slices.
    const interactive = job.opts.priority === PRIORITIES.interactive;
    /** The JSON text of each vector fetched, as the instance sent it. */
    const fetched: string[] = [];
    const fetchedTokens: number[] = [];
    let held: SlotRelease | undefined;
    const tracked = deps.cancels.track(job.id ?? "", deps.shutdownSignal);
    try {
    for (let start = 0; start < missing.length; ) {
      if (held) held = await deps.yieldSlot("embed", held, job.opts.priority ?? 0);
      const part = missing.slice(start, start + (interactive ? missing.length : deps.slicer.size));
      start += part.length;
      const slice = await onSlot(deps, job, token, (slotFree) =>
        timedEmbed(deps.slicer, part.length, () => deps.monitor.client.embed(
          {
            model: data.model,
            input: part.map((entry) => entry.text),
            ...(data.dimensions !== undefined ? { dimensions: data.dimensions } : {}),
            ...(data.truncate !== undefined ? { truncate: data.truncate } : {}),
            ...(data.options ? { options: data.options } : {}),
            ...(data.keepAlive !== undefined ? { keep_alive: data.keepAlive } : {}),
          },
          {
            timeoutMs: deps.timeouts.embedMs,
            instanceSignal: deps.monitor.instanceSignal,
            signal: tracked.signal,
            onSlotFree: slotFree,
            ...(expectedLength !== undefined ? { expectedLength } : {}),
          },
        )),
        { held, keep: start < missing.length, size: part.reduce((sum, entry) => sum + entry.text.length, 0), clock },
      );
      held = slice.held;
      if (slice.result.loadMs !== undefined) deps.onLoad(slice.result.loadMs, data.options?.num_ctx, slice.sentAt);
      fetched.push(...slice.result.vectorTexts);
      fetchedTokens.push(...shareTokens(slice.result.promptEvalCount, part.map((entry) => entry.text)));
    }
    } finally {
      held?.();
      tracked.release();
    }
    fetched.forEach((text, i) => {
      const entry = missing[i];
      if (entry) {
        vectors[entry.index] = text;
        tokens[entry.index] = fetchedTokens[i];
      }
    });
  }
  const counted = tokens.every((count) => count !== undefined) ? `,"prompt_eval_count":${tokens.reduce<number>((sum, count) => sum + (count ?? 0), 0)}` : "";
  const result = `{"model":${JSON.stringify(data.requestModel)},"embeddings":[${vectors.join(",")}]${counted}}`;
  const cacheCopy =
    data.cache && missing.length > 0
      ? { layer: "embedding" as const, entries: missing.map(({ text, index }) => [batchKeys?.[index] ?? keyOf(text), encodeEmbeddingEntry(vectors[index] as string, tokens[index] ?? 0)] as const) }
      : undefined;
  await storeResult(deps, job, result, data.replyTo, clock, cacheCopy);
  // Once the result is stored (see storeResult): this leaves in one write with the completion.
  if (data.progress) {
    const { key, field } = data.progress;
    deps.redis.hincrby(key, field, data.inputs.length).catch((error: unknown) => deps.onStoreError(job, error));
  }
  return { instance, resultBytes: result.length, cachedInputs: data.inputs.length - missing.length };
}

/** Runs one embed call and teaches the slicer what an input costs on this binding. */
async function timedEmbed<T>(slicer: BatchSlicer, inputs: number, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const output = await call();
  slicer.record(inputs, performance.now() - started);
  return output;
}

export async function processGenerate(deps: ProcessorDeps, job: Job, token: string | undefined): Promise<JobReturnValue> {
  const clock = new JobClock();
  const instance = deps.monitor.instance.name;
  const parsed = GenerateJobData.safeParse(job.data);
  if (!parsed.success) throw payloadError(parsed.error, instance);
  const data = parsed.data;
  if (data.imagesReleased !== undefined) {
    throw new UnrecoverableError(encodeFailure({ code: "bad_request", message: `this job finished before and its ${data.imagesReleased} image(s) were released; submit the request again`, instance }));
  }
  const tracked = deps.cancels.track(job.id ?? "", deps.shutdownSignal);
  const publisher = data.stream ? new TokenPublisher(job, (error) => deps.onStoreError(job, error)) : undefined;
  const baseCall = {
    timeoutMs: deps.timeouts.generateMs,
    instanceSignal: deps.monitor.instanceSignal,
    signal: tracked.signal,
    ...(publisher
      ? { onToken: (piece: string) => publisher.push(piece), onThinking: (piece: string) => publisher.pushThinking(piece), ...(data.logprobs ? { onLogprobs: (entries: Logprob[]) => publisher.pushLogprobs(entries) } : {}) }
      : {}),
  };
  const common = {
    model: data.model,
    ...(data.options ? { options: data.options } : {}),
    ...(data.format !== undefined ? { format: data.format } : {}),
    ...(data.think !== undefined ? { think: data.think } : {}),
    ...(data.truncate === false ? { truncate: false } : {}),
    ...(data.shift === false ? { shift: false } : {}),
    ...(data.logprobs ? { logprobs: true, ...(data.topLogprobs ? { top_logprobs: data.topLogprobs } : {}) } : {}),
    ...(data.keepAlive !== undefined ? { keep_alive: data.keepAlive } : {}),
  };
  let output: Awaited<ReturnType<typeof deps.monitor.client.generate>>;
  let inFlight: number;
  let sentAt: number;
  try {
    ({ result: output, inFlight, sentAt } = await onSlot(deps, job, token, (slotFree) => {
      const call = { ...baseCall, onSlotFree: slotFree };
      return data.mode === "generate"
        ? deps.monitor.client.generate(
            {
              ...common,
              prompt: data.prompt ?? "",
              ...(data.suffix !== undefined ? { suffix: data.suffix } : {}),
              ...(data.raw ? { raw: true } : {}),
              ...(data.images ? { images: data.images } : {}),
              ...(data.system !== undefined ? { system: data.system } : {}),
            },
            call,
          )
        : deps.monitor.client.chat(
            { ...common, messages: [...(data.system !== undefined ? [{ role: "system", content: data.system }] : []), ...(data.messages ?? [])], ...(data.tools ? { tools: data.tools } : {}) },
            call,
          );
    }, { clock }));
    // Every piece reaches the events stream before the completion event does.
    await publisher?.drain();
  } finally {
    tracked.release();
  }
  if (output.ollamaTiming) deps.onHeld(output.ollamaTiming, inFlight);
  if (output.loadMs !== undefined) deps.onLoad(output.loadMs, data.options?.num_ctx, sentAt);
  const thinking = output.thinking ? { thinking: output.thinking } : {};
  const shaped = data.answer
    ? { answer: output.text.trim(), ...data.answer }
    : data.mode === "generate"
      ? { response: output.text, ...thinking }
      : { message: { role: "assistant", content: output.text, ...thinking, ...(output.toolCalls.length > 0 ? { tool_calls: output.toolCalls } : {}) } };
  const body = {
    model: data.requestModel,
    ...shaped,
    ...(output.doneReason !== undefined ? { done_reason: output.doneReason } : {}),
    prompt_eval_count: output.promptEvalCount,
    eval_count: output.evalCount,
    ...(data.logprobs && output.logprobs.length > 0 ? { logprobs: output.logprobs } : {}),
  };
  const result = JSON.stringify(body);
  const { model: _model, ...withoutModel } = body;
  const cacheCopy = data.cacheKey ? { layer: "inference" as const, entries: [[data.cacheKey, JSON.stringify(withoutModel)] as const] } : undefined;
  await storeResult(deps, job, result, data.replyTo, clock, cacheCopy);
  return { instance, resultBytes: result.length };
}
