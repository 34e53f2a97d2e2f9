import { fileURLToPath } from "node:url";
import pLimit, { type LimitFunction } from "p-limit";
import { Piscina } from "piscina";
import type { ParseResult, ParseTask } from "./task.js";

/**
 * Parsing (PDF especially) and tokenising are CPU-bound; they run on worker threads so the
 * process that hosts them keeps answering interactive requests on time. Threads start with the
 * first document and stop after a minute without one: each loads the parsers and the tokenizer
 * (about 80 MB, half a second of CPU), which an API that is not ingesting should not carry.
 */
export class ParsePool {
  readonly #pool: Piscina;

  readonly #heapMb: number;
  readonly #timeoutMs: number;
  /** One document per thread at a time, so a document's time limit counts its parsing, not its wait for a thread. */
  readonly #turns: LimitFunction;

  /**
   * `memoryBytes` bounds each thread's JavaScript heap: a document that needs more (a compressed
   * Word file can hold hundreds of megabytes of XML) ends its thread, not the process hosting it.
   * `timeoutMs` bounds a document's parsing: a file a parser loops on, or works on for hours,
   * ends its thread instead of holding it (and every ingestion queued behind it) for good.
   */
  constructor(threads = 1, idleTimeoutMs = 60_000, memoryBytes = 1024 * 1024 * 1024, timeoutMs = 10 * 60_000) {
    this.#heapMb = Math.max(64, Math.round(memoryBytes / 1024 / 1024));
    this.#timeoutMs = timeoutMs;
    this.#turns = pLimit(Math.max(1, threads));
    this.#pool = new Piscina({
      filename: fileURLToPath(new URL("./task.js", import.meta.url)),
      minThreads: 0,
      maxThreads: Math.max(1, threads),
      idleTimeout: idleTimeoutMs,
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
  }

  /** Threads running now. */
  get threads(): number {
    return this.#pool.threads.length;
  }

  /** Parses and chunks one document; its failure (running out of memory or time too) is the result's reason. */
  run(task: ParseTask): Promise<ParseResult> {
    return this.#turns(async () => {
      const signal = AbortSignal.timeout(this.#timeoutMs);
      try {
        return (await this.#pool.run(task, { transferList: [], signal })) as ParseResult;
      } catch (error) {
        // The same document would run out again on a retry: a failure of the document, not a fault.
        if ((error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY") return { ok: false, reason: `parsing the document took more than the ${this.#heapMb} MB a parse thread may use (HERD_PARSE_MEMORY); split it into smaller documents` };
        if (signal.aborted) return { ok: false, reason: `parsing the document took longer than ${formatDuration(this.#timeoutMs)}, the most a document may take (HERD_PARSE_TIMEOUT); split it into smaller documents` };
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
