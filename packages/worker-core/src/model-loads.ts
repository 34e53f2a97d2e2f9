import { atMostEvery, type Logger } from "@herd/logger";

/** A call whose load_duration reached this loaded (or reloaded) the model: a warm model answers the scheduler in well under it. */
export const LOAD_MS = 250;
/** This many loads of one binding's model within LOADS_WINDOW_MS is thrashing, not a model going cold now and then. */
export const LOADS_WARN_COUNT = 3;
export const LOADS_WINDOW_MS = 5 * 60_000;

/**
 * Watches the calls during which Ollama loaded this binding's model. Ollama reloads a loaded
 * model whenever a request asks for other runner options than it was loaded with (num_ctx
 * above all: clients that send different context sizes make it reload on every alternation,
 * seconds each), and evicts models it cannot keep loaded together. Each load is counted on
 * herd_ollama_loads_total; frequent ones are logged, at most once per window, with the num_ctx
 * values the loading calls asked for.
 */
export class ModelLoadWatch {
  readonly #loads: Array<{ at: number; numCtx: number | undefined }> = [];
  readonly #warn = atMostEvery(LOADS_WINDOW_MS);

  constructor(
    private readonly options: {
      instance: string;
      model: string;
      /** herd_ollama_loads_total (InstanceMetrics.loads). */
      counter: { inc(labels: { ollama: string; model: string }): void };
      logger: Logger;
      now?: () => number;
    },
  ) {}

  /** After each call that reported its load_duration, with the num_ctx it asked for (none: the model's). */
  record(loadMs: number, numCtx: number | undefined): void {
    if (loadMs < LOAD_MS) return;
    const { instance, model, counter, logger } = this.options;
    counter.inc({ ollama: instance, model });
    const now = (this.options.now ?? Date.now)();
    this.#loads.push({ at: now, numCtx });
    while ((this.#loads[0]?.at ?? now) <= now - LOADS_WINDOW_MS) this.#loads.shift();
    if (this.#loads.length < LOADS_WARN_COUNT) return;
    const asked = [...new Set(this.#loads.map((load) => (load.numCtx === undefined ? "the model's default" : String(load.numCtx))))];
    this.#warn(() =>
      logger.warn(
        { instance, model, loads: this.#loads.length, windowMs: LOADS_WINDOW_MS, numCtx: asked },
        `Ollama instance ${instance} loaded ${model} ${this.#loads.length} times in ${LOADS_WINDOW_MS / 60_000} minutes (the calls that waited for it asked for num_ctx ${asked.join(", ")}): a request asking for other runner options than the loaded model's (num_ctx, num_batch, num_gpu...) makes Ollama reload it, so give every client the same options for a model; or the instance cannot keep its models loaded together (its memory, OLLAMA_MAX_LOADED_MODELS, keep_alive)`,
      ),
    );
  }
}
