/**
 * A finished job's outcome, sent by the worker straight to the API process whose client waits for
 * it (the job's `replyTo` channel). A completion carries the result, in the same write as the
 * stored result: it spares that client the read after it. A final failure carries no result; it
 * is sent once BullMQ has recorded it, so the client's read then finds it. BullMQ stays the record:
 * a reply that is lost (a subscriber reconnecting) leaves the waiter on its state checks.
 */
export interface ReplyHeader {
  jobId: string;
  /** Attempts including this one (BullMQ's attemptsMade once the completion is recorded). */
  attempts: number;
  instance: string;
  /** Epoch ms: job created, attempt started, result stored. */
  timestamp: number;
  processedOn: number;
  finishedOn: number;
  /** The job failed for good (no attempts left, or unrecoverable); the reply has no result. */
  failed?: true;
  /** A completion's timing in the worker (absent from failures and from older workers). */
  timing?: ReplyTiming;
}

/**
 * Where a completed job's attempt spent its time in the worker, in ms (durations on the worker's
 * own clock, so they hold across machines): waiting there for a free slot of the instance, in the
 * Ollama calls (request sent to answer; to the end of the stream for a generation), and the
 * worker's own work around them (parsing, validating, building and writing the result).
 */
export interface ReplyTiming {
  slotWaitMs: number;
  ollamaMs: number;
  workerMs: number;
}

export interface JobReply {
  header: ReplyHeader;
  /** The result body exactly as stored under the job's result key (empty for a failure). */
  result: Buffer;
}

const NEWLINE = 0x0a;

/** `<header JSON>\n<result JSON>`: JSON text never holds a raw newline, so the first one splits. */
export function encodeReply(header: ReplyHeader, result: string): string {
  return `${JSON.stringify(header)}\n${result}`;
}

export function decodeReply(message: Buffer): JobReply | undefined {
  const split = message.indexOf(NEWLINE);
  if (split < 0) return undefined;
  let header: Partial<ReplyHeader>;
  try {
    header = JSON.parse(message.subarray(0, split).toString("utf8")) as Partial<ReplyHeader>;
  } catch {
    return undefined;
  }
  const numbers = [header.attempts, header.timestamp, header.processedOn, header.finishedOn];
  if (typeof header.jobId !== "string" || typeof header.instance !== "string" || !numbers.every((value) => typeof value === "number" && Number.isFinite(value))) return undefined;
  if (header.failed !== undefined && header.failed !== true) return undefined;
  // Timing only informs: a reply whose timing is malformed still delivers its result.
  if (header.timing !== undefined && !isTiming(header.timing)) delete header.timing;
  return { header: header as ReplyHeader, result: message.subarray(split + 1) };
}

function isTiming(value: unknown): value is ReplyTiming {
  if (typeof value !== "object" || value === null) return false;
  const { slotWaitMs, ollamaMs, workerMs } = value as Partial<Record<keyof ReplyTiming, unknown>>;
  return [slotWaitMs, ollamaMs, workerMs].every((part) => typeof part === "number" && Number.isFinite(part) && part >= 0);
}
