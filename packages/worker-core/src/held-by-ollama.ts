import { atMostEvery, type Logger } from "@herd/logger";

/**
 * A generation Ollama held at least this long, and for at least HELD_WARN_SHARE of the time it
 * then ran, waited for a slot inside Ollama. Ollama's own handling before running a call (the
 * template, tokenizing a long chat) takes a few ms, and a small share of the run; a call queued
 * behind another waits for about that other call's whole run.
 */
export const HELD_WARN_MS = 50;
export const HELD_WARN_SHARE = 0.25;

/**
 * Watches how long Ollama held this binding's generations before running them (their reported
 * durations tell; see heldBeforeRunningMs). Herd sends an instance at most its slots, so any
 * real wait inside Ollama means the instance runs fewer calls at once than this worker thinks
 * (slots above OLLAMA_NUM_PARALLEL), or that calls from elsewhere reach it too: the one thing
 * pulling by free slots promises cannot happen, and nothing else would show it against a real
 * Ollama. Every call is observed on herd_ollama_held_seconds; a held one is logged at most once
 * a minute.
 */
export class HeldByOllamaWatch {
  readonly #warn = atMostEvery(60_000);

  constructor(
    private readonly options: {
      instance: string;
      model: string;
      slots: number;
      /** herd_ollama_held_seconds (InstanceMetrics.held). */
      histogram: { observe(labels: { ollama: string; model: string }, seconds: number): void };
      logger: Logger;
    },
  ) {}

  /** After a generation, with what Ollama's durations say of it and how many of this binding's slots were in use when it was sent. */
  record({ heldMs, runMs }: { heldMs: number; runMs: number }, inFlight: number): void {
    const { instance, model, slots, histogram, logger } = this.options;
    histogram.observe({ ollama: instance, model }, heldMs / 1000);
    if (heldMs < HELD_WARN_MS || heldMs < HELD_WARN_SHARE * runMs) return;
    this.#warn(() =>
      logger.warn(
        { instance, model, heldMs: Math.round(heldMs), slots, inFlight },
        `Ollama instance ${instance} held a ${model} call ${Math.round(heldMs)} ms before running it, with ${inFlight} of this worker's ${slots} slot(s) for it in use: more calls reached it than it runs at once. Either its OLLAMA_NUM_PARALLEL is below ${slots} (set this model's slots to match) or something else sends it work (another worker or Herd, or clients calling it directly)`,
      ),
    );
  }
}
