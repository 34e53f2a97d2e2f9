import type { ReplyTiming } from "@herd/jobs";

/**
 * The `Server-Timing` header of a job request: where its time went inside the API, in
 * consecutive segments (browser devtools and `curl -i` show it). Everything outside the segments
 * (the network, HTTP parsing, body parsing before the route) is the client's total minus their sum.
 * Each mark updates the response's header, so whichever answer goes out carries the segments so far.
 */
export class ServerTiming {
  #last = performance.now();
  readonly #entries: string[] = [];

  constructor(private readonly response: { setHeader(name: string, value: string): unknown }) {}

  /** Closes the segment that started at the previous mark (or at construction); returns its duration. */
  mark(name: string, description: string): number {
    const now = performance.now();
    const durationMs = now - this.#last;
    this.#last = now;
    this.#add(name, durationMs, description);
    return durationMs;
  }

  /**
   * Splits a `wait` segment of `waitedMs` with the worker's timing from its reply: the slot wait,
   * the Ollama call and the worker's own work as the worker measured them, and the rest (the
   * queue, the hand-off to the worker, the reply's way back through Redis). These entries are
   * parts of the wait, not further segments. A worker can start on the job before BullMQ's add has
   * returned to the API; its parts then overlap the enqueue segment, and the rest shows 0.
   */
  splitWait(waitedMs: number, worker: ReplyTiming): void {
    this.#add("slot", worker.slotWaitMs, "of the wait: in the worker, for a free slot of the instance");
    this.#add("ollama", worker.ollamaMs, "of the wait: the Ollama call");
    this.#add("worker", worker.workerMs, "of the wait: the worker's own work");
    const rest = Math.max(0, waitedMs - worker.slotWaitMs - worker.ollamaMs - worker.workerMs);
    this.#add("queue", rest, "of the wait: the rest, in the queue and through Redis to the worker and back");
  }

  #add(name: string, durationMs: number, description: string): void {
    this.#entries.push(`${name};dur=${durationMs.toFixed(2)};desc="${description}"`);
    this.response.setHeader("Server-Timing", this.#entries.join(", "));
  }
}

/** One `Server-Timing` entry as the benchmark and tests read it back. */
export interface TimingEntry {
  name: string;
  durationMs: number;
  description: string | undefined;
}

/** Splits on `separator` where it is not inside a quoted string. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

export function parseServerTiming(header: string | null | undefined): TimingEntry[] {
  if (!header) return [];
  return splitOutsideQuotes(header, ",").flatMap((part) => {
    const [name, ...params] = splitOutsideQuotes(part.trim(), ";").map((piece) => piece.trim());
    if (!name) return [];
    const value = (key: string) => params.find((param) => param.startsWith(`${key}=`))?.slice(key.length + 1);
    const duration = Number(value("dur"));
    const description = value("desc")?.replace(/^"|"$/g, "");
    return Number.isFinite(duration) ? [{ name, durationMs: duration, description }] : [];
  });
}
