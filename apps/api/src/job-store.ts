import { execAll, type RedisClient } from "@herd/redis";
import { decodeFailure, failureToError, ownerOfJobName, parseJobId, statusFromState, tenantOfJobName, type HerdKeys, type JobKind, type JobReply, type JobStatus, type ParsedJobId } from "@herd/jobs";
import type { QueueRegistry } from "./queues.js";

interface ViewFields {
  id: string | null;
  type: JobKind;
  model: string;
  status: JobStatus;
  error?: { code: string; message: string };
  attempts: number;
  instance?: string;
  cached?: boolean;
  canceledAt?: string;
  timings: { queuedMs: number; runMs: number; totalMs: number };
}

/** A JSON body as a list of byte chunks, written in one syscall without being concatenated. */
export type JsonChunks = Buffer[];

/**
 * Renders a job view as JSON chunks. The result is spliced in as stored, so a large embedding
 * result is never decoded, parsed, re-serialised or even copied on its way to the client.
 */
export function renderJobView(fields: ViewFields, result?: string | Buffer | JsonChunks): JsonChunks {
  const { timings, ...rest } = fields;
  const head = JSON.stringify(rest).slice(0, -1);
  const tail = `,"timings":${JSON.stringify(timings)}}`;
  if (result === undefined) return [Buffer.from(head + tail)];
  const resultChunks = Array.isArray(result) ? result : [typeof result === "string" ? Buffer.from(result) : result];
  return [Buffer.from(`${head},"result":`), ...resultChunks, Buffer.from(tail)];
}

export function chunksToString(chunks: JsonChunks): string {
  return Buffer.concat(chunks).toString("utf8");
}

const JOB_FIELDS = ["timestamp", "processedOn", "finishedOn", "atm", "pb", "failedReason", "name"] as const;

/**
 * A job's fields, its stored result, its cancel marker and, once canceled, when it was created, in
 * one command: cheaper than building a four-command pipeline on every read. The keys share the
 * prefix's hash tag (one Cluster slot).
 */
const READ_JOB_LUA = `return {redis.call('HMGET', KEYS[1], unpack(ARGV)), redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4])}`;
type ReadJobReply = [Array<Buffer | null>, Buffer | null, Buffer | null, Buffer | null];
type WithReadJob = RedisClient & {
  herdReadJobBuffer(jobKey: string, resultKey: string, canceledKey: string, canceledCreatedKey: string, ...fields: string[]): Promise<ReadJobReply>;
};

function toNumber(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A job's timings from BullMQ's timestamps (epoch ms): an unfinished part runs until `now`. */
function jobTimings(status: JobStatus, created: number, started: number | undefined, ended: number | undefined, now: number): ViewFields["timings"] {
  const finished = status === "completed" || status === "failed";
  const end = (finished ? ended : undefined) ?? now;
  return {
    queuedMs: Math.max(0, (status === "queued" ? now : (started ?? now)) - created),
    runMs: status === "queued" || started === undefined ? 0 : Math.max(0, end - started),
    totalMs: Math.max(0, end - created),
  };
}

/** The tenant recorded with a canceled (removed) job: `<timestamp>|<tenant>`. */
function canceledBy(value: string | null | undefined): string | undefined {
  const bar = value?.indexOf("|") ?? -1;
  return value && bar >= 0 && bar < value.length - 1 ? value.slice(bar + 1) : undefined;
}

export type CancelOutcome = "canceled" | "running" | "finished" | "not_found";

/** Reads and cancels jobs by their public id. */
export class JobStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly queues: QueueRegistry,
    private readonly keys: HerdKeys,
    private readonly retentionMs: number,
  ) {
    redis.defineCommand("herdReadJob", { numberOfKeys: 4, lua: READ_JOB_LUA });
  }

  parse(id: string): ParsedJobId | undefined {
    return parseJobId(id);
  }

  async isFinished(parsed: ParsedJobId, id: string): Promise<boolean> {
    const state = await this.queues.queue(parsed.queue).getJobState(id);
    return state === "completed" || state === "failed" || state === "unknown";
  }

  /**
   * The job's view as JSON text, or undefined when it is unknown or expired. `knownState` skips
   * the state lookup when an event has just told us (one round trip instead of two scripts).
   */
  /** The tenant that submitted a job (undefined when the job is unknown, expired or has none). */
  async owner(id: string): Promise<string | undefined> {
    const parsed = parseJobId(id);
    if (!parsed) return undefined;
    const [name, canceled] = await this.#nameAndCancel(this.queues.queue(parsed.queue), id);
    return tenantOfJobName(name) ?? canceledBy(canceled);
  }

  /**
   * With `tenant`, a job another tenant submitted reads as unknown (undefined), like an id that
   * never existed: its existence is nobody else's business.
   */
  async read(id: string, knownState?: "completed" | "failed", tenant?: string): Promise<JsonChunks | undefined> {
    const parsed = parseJobId(id);
    if (!parsed) return undefined;
    const queue = this.queues.queue(parsed.queue);
    const reads = (this.redis as WithReadJob).herdReadJobBuffer(queue.toKey(id), this.keys.result(id), this.keys.canceled(id), this.keys.canceledCreated(id), ...JOB_FIELDS);
    const [state, [rawFields, rawResult, rawCanceled, rawCreated]] = await Promise.all([knownState ?? queue.getJobState(id), reads]);
    const fields = rawFields.map((value) => (value === null ? null : value.toString("utf8")));
    const result = knownState === "failed" ? null : rawResult;
    const canceled = knownState || rawCanceled === null ? null : rawCanceled.toString("utf8");
    const [timestamp, processedOn, finishedOn, attemptsMade, processedBy, failedReason, name] = fields.map((value) => value ?? undefined);
    const base = { id, type: parsed.kind, model: parsed.model };
    // The worker stores the result, replies, and only then has BullMQ record the completion (one
    // round trip later, see storeResult): a read in that gap, such as a client's GET right after
    // its ?wait= answer, must not see the job running again.
    const stored = state === "active" && result !== null;
    const status = stored ? "completed" : statusFromState(state);
    if (tenant !== undefined && (status ? tenantOfJobName(name) : canceledBy(canceled)) !== tenant) return undefined;
    if (!status) {
      if (!canceled) return undefined;
      const at = toNumber(canceled.split("|")[0]) ?? Date.now();
      // A job canceled by an older API process has no creation time: its timings stay zeros.
      const queuedMs = Math.max(0, at - (toNumber(rawCreated?.toString("utf8")) ?? at));
      return renderJobView({ ...base, status: "canceled", attempts: 0, canceledAt: new Date(at).toISOString(), timings: { queuedMs, runMs: 0, totalMs: queuedMs } });
    }
    const now = Date.now();
    const timings = jobTimings(status, toNumber(timestamp) ?? now, toNumber(processedOn), toNumber(finishedOn), now);
    // Attempts that ended (BullMQ's attemptsMade counts failures and the completion) plus the one
    // running. Not BullMQ's attemptsStarted: hand-backs (shutdown, a sick instance passing a retry
    // on) start a job again without being attempts of it.
    const made = toNumber(attemptsMade) ?? 0;
    const view: ViewFields = { ...base, status, attempts: status === "running" || stored ? made + 1 : made, timings };
    if (status !== "queued" && processedBy) view.instance = processedBy;
    if (status === "completed") {
      // BullMQ evicts finished jobs lazily; once the result has expired the job is gone too.
      if (result === null) return undefined;
      return renderJobView(view, result);
    }
    if (status === "failed") {
      const failure = decodeFailure(failedReason);
      view.error = failureToError(failure);
      if (failure.instance) view.instance = failure.instance;
    }
    return renderJobView(view);
  }

  /**
   * The completed job's view from the result a worker sent this process: the same body read()
   * returns once BullMQ has recorded the completion, without reading it back. Only waiters that
   * may see the job subscribe to it (its own submitter, a coalesced request of the same tenant,
   * a poll that checked the owner), so there is no tenant to check here.
   */
  fromReply(id: string, reply: JobReply): JsonChunks | undefined {
    const parsed = parseJobId(id);
    // A failure carries no result: the caller reads the job's error from Redis.
    if (!parsed || reply.header.jobId !== id || reply.header.failed) return undefined;
    const { attempts, instance, timestamp, processedOn, finishedOn } = reply.header;
    const timings = jobTimings("completed", timestamp, processedOn, finishedOn, Date.now());
    return renderJobView({ id, type: parsed.kind, model: parsed.model, status: "completed", attempts, timings, instance }, reply.result);
  }

  /** Removes a job that has not started. Running jobs are not interrupted. */
  async cancel(id: string, tenant?: string): Promise<CancelOutcome> {
    const parsed = parseJobId(id);
    if (!parsed) return "not_found";
    const queue = this.queues.queue(parsed.queue);
    const [name, canceled, created] = await this.#nameAndCancel(queue, id);
    const owner = ownerOfJobName(name);
    if (tenant !== undefined && (owner?.tenant ?? canceledBy(canceled)) !== tenant) return "not_found";
    const state = await queue.getJobState(id);
    if (state === "unknown") return canceled ? "canceled" : "not_found";
    if (state === "completed" || state === "failed") return "finished";
    if (state === "active") return "running";
    // remove() refuses a job another worker has just locked; that race reads as "running".
    const removed = await queue.remove(id);
    if (removed !== 1) return "running";
    const writes = this.redis.multi().set(this.keys.canceled(id), `${Date.now()}|${owner?.tenant ?? ""}`, "PX", this.retentionMs);
    if (toNumber(created) !== undefined) writes.set(this.keys.canceledCreated(id), created as string, "PX", this.retentionMs);
    // A job that never ran frees its place in the API key's concurrency quota.
    if (owner?.keyId) writes.zrem(this.keys.keyInflight(owner.keyId), id);
    await execAll(writes);
    return "canceled";
  }

  /** The job's name (which carries its tenant), its cancel marker and its creation time; null where absent. */
  async #nameAndCancel(queue: ReturnType<QueueRegistry["queue"]>, id: string): Promise<[string | null, string | null, string | null]> {
    const [fields, canceled] = await execAll(this.redis.pipeline().hmget(queue.toKey(id), "name", "timestamp").get(this.keys.canceled(id)));
    const [name, created] = (fields ?? []) as Array<string | null>;
    return [name ?? null, (canceled ?? null) as string | null, created ?? null];
  }
}
