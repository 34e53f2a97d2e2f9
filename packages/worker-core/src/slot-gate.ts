/** Raised in a job waiting for a slot when its binding stops pulling (unhealthy or closing). */
export class GateClosedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "GateClosedError";
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
}

/**
 * The in-flight limit of one (instance, model): at most `slots` Ollama calls at a time, FIFO.
 * Jobs may be fetched from BullMQ slightly ahead (prefetch) and wait here, never inside Ollama.
 */
export class SlotGate {
  #inFlight = 0;
  #maxInFlight = 0;
  readonly #waiters: Waiter[] = [];

  constructor(readonly slots: number) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Highest in-flight count seen; a test hook for the "never above slots" invariant. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(): Promise<() => void> {
    if (this.#inFlight < this.slots && this.#waiters.length === 0) return Promise.resolve(this.#take());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Rejects every job still waiting for a slot (they go back to the queue). */
  rejectWaiters(reason: string): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new GateClosedError(reason));
  }

  #take(): () => void {
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
      const next = this.#waiters.shift();
      if (next) next.resolve(this.#take());
    };
  }
}
