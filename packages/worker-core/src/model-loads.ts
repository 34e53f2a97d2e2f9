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
 * herd_ollama_loads_total (once, however many calls waited for it); frequent ones are logged, at
 * most once per window, with the num_ctx values the loading calls asked for.
 */
export class ModelLoadWatch {
  /** Loads counted within the window: when each began and ended (performance.now), and the num_ctx asked for. */
  #loads: Array<{ sentAt: number; endedAt: number; numCtx: number | undefined }> = [];
  readonly #warn = atMostEvery(LOADS_WINDOW_MS);

  constructor(
    private readonly options: {
      instance: string;
      model: string;
      /** herd_ollama_loads_total (InstanceMetrics.loads). */
      counter: { inc(labels: { ollama: string; model: string }): void };
      logger: Logger;
    },
  ) {}

  /**
   * After each call that reported its load_duration, with the num_ctx it asked for (none: the
   * model's) and when it was sent (performance.now). Calls sent together to a model being loaded
   * all wait for that one load (each reports it): a load overlapping one already counted is that
   * same load.
   */
  record(loadMs: number, numCtx: number | undefined, sentAt: number): void {
    if (loadMs < LOAD_MS) return;
    const endedAt = sentAt + loadMs;
    const same = this.#loads.find((load) => sentAt < load.endedAt && endedAt > load.sentAt);
    if (same) {
      same.sentAt = Math.min(same.sentAt, sentAt);
      same.endedAt = Math.max(same.endedAt, endedAt);
      return;
    }
    const { instance, model, counter, logger } = this.options;
    counter.inc({ ollama: instance, model });
    this.#loads.push({ sentAt, endedAt, numCtx });
    const windowStart = Math.max(...this.#loads.map((load) => load.endedAt)) - LOADS_WINDOW_MS;
    this.#loads = this.#loads.filter((load) => load.endedAt > windowStart);
    if (this.#loads.length < LOADS_WARN_COUNT) return;
    const asked = [...new Set(this.#loads.map((load) => (load.numCtx === undefined ? "the model's default" : String(load.numCtx))))];
    this.#warn(() =>
      logger.warn(
        { instance, model, loads: this.#loads.length, windowMs: LOADS_WINDOW_MS, numCtx: asked },
        `Ollama instance ${instance} loaded ${model} ${this.#loads.length} times in ${LOADS_WINDOW_MS / 60_000} minutes (the calls that waited for it asked for num_ctx ${asked.join(", ")}): a request asking for other runner options than the loaded model's (num_ctx, num_batch, num_gpu...) makes Ollama reload it, so give every client the same options for a model (HERD_MODEL_OPTIONS on the API pins them for every request); or the instance cannot keep its models loaded together (its memory, OLLAMA_MAX_LOADED_MODELS, keep_alive)`,
      ),
    );
  }
}
