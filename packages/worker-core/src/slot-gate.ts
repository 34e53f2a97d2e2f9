/** Raised in a job waiting for a slot when its binding stops pulling (unhealthy or closing). */
export class GateClosedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "GateClosedError";
  }
}

/**
 * Gives a slot back; true when it went straight to a call waiting at the gate (which starts now).
 * Calling it again does nothing and returns false.
 */
export type SlotRelease = () => boolean;

interface Waiter {
  resolve: (release: SlotRelease) => void;
  reject: (error: Error) => void;
  priority: number;
  expectedMs: number | undefined;
}

/** A call holding a slot: when it started (performance.now) and how long it is expected to take. */
export interface SlotHolder {
  readonly since: number;
  readonly expectedMs: number | undefined;
}

/**
 * The in-flight limit of one (instance, model): at most `slots` Ollama calls at a time. Waiters
 * are served by priority (BullMQ's: lower first), then first come first served. A job fetched
 * slightly ahead (prefetch) waits here, in the worker, never inside Ollama.
 */
export class SlotGate {
  #maxInFlight = 0;
  readonly #waiters: Waiter[] = [];
  readonly #holders = new Set<SlotHolder>();

  constructor(
    readonly slots: number,
    private readonly onRelease: () => void = () => undefined,
  ) {}

  get inFlight(): number {
    return this.#holders.size;
  }

  /** Highest in-flight count seen; a test hook for the "never above slots" invariant. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** The calls holding a slot. */
  holders(): SlotHolder[] {
    return [...this.#holders];
  }

  /** `expectedMs`: how long the call is expected to hold the slot (for the binding's prefetch). */
  acquire(priority = 0, expectedMs?: number): Promise<SlotRelease> {
    if (this.#holders.size < this.slots && this.#waiters.length === 0) return Promise.resolve(this.#take(expectedMs));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, priority, expectedMs };
      const after = this.#waiters.findIndex((other) => other.priority > priority);
      if (after < 0) this.#waiters.push(waiter);
      else this.#waiters.splice(after, 0, waiter);
    });
  }

  /**
   * For a holder of `priority` between two pieces of work: if a job of higher priority (a lower
   * number) waits, the slot goes to it and undefined is returned (the holder queues again);
   * otherwise the holder keeps the slot.
   */
  handOver(release: SlotRelease, priority: number): SlotRelease | undefined {
    const first = this.#waiters[0];
    if (!first || first.priority >= priority) return release;
    release();
    return undefined;
  }

  /** Rejects every job still waiting for a slot (they go back to the queue). */
  rejectWaiters(reason: string): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new GateClosedError(reason));
  }

  #take(expectedMs: number | undefined): SlotRelease {
    const holder: SlotHolder = { since: performance.now(), expectedMs };
    this.#holders.add(holder);
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#holders.size);
    let released = false;
    return () => {
      if (released) return false;
      released = true;
      this.#holders.delete(holder);
      const next = this.#waiters.shift();
      if (next) next.resolve(this.#take(next.expectedMs));
      this.onRelease();
      return next !== undefined;
    };
  }
}
