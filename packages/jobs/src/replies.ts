/**
 * A finished job's result, sent by the worker straight to the API process whose client waits for
 * it (the job's `replyTo` channel), in the same write as the stored result. It spares that
 * client the completion event's trip through BullMQ's events stream and the read after it. BullMQ
 * stays the record: a reply that is lost (a reconnecting subscriber) leaves the waiter on the
 * events, exactly as without replies.
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
}

export interface JobReply {
  header: ReplyHeader;
  /** The result body exactly as stored under the job's result key. */
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
  return { header: header as ReplyHeader, result: message.subarray(split + 1) };
}
