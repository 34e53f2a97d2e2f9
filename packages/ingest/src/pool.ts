import { fileURLToPath } from "node:url";
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

  constructor(threads = 1, idleTimeoutMs = 60_000) {
    this.#pool = new Piscina({ filename: fileURLToPath(new URL("./task.js", import.meta.url)), minThreads: 0, maxThreads: Math.max(1, threads), idleTimeout: idleTimeoutMs });
  }

  /** Threads running now. */
  get threads(): number {
    return this.#pool.threads.length;
  }

  run(task: ParseTask): Promise<ParseResult> {
    return this.#pool.run(task, { transferList: [] }) as Promise<ParseResult>;
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
