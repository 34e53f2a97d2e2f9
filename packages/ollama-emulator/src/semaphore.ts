/** Thrown to a waiter whose request went away before it got a slot. */
export class AbortedWaitError extends Error {
  constructor() {
    super("request canceled");
    this.name = "AbortedWaitError";
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
}

/**
 * Ollama's runner semaphore (golang.org/x/sync/semaphore): a fixed number of slots and an
 * unbounded FIFO of waiters. A waiter whose client disconnects leaves the line without work.
 */
export class FifoSemaphore {
  #free: number;
  readonly #waiters: Waiter[] = [];

  constructor(readonly size: number) {
    this.#free = size;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  get inUse(): number {
    return this.size - this.#free;
  }

  /** Takes a free slot without waiting, or returns undefined when the caller would have to queue. */
  tryAcquire(): (() => void) | undefined {
    if (this.#free > 0 && this.#waiters.length === 0) {
      this.#free -= 1;
      return this.#releaser();
    }
    return undefined;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortedWaitError());
    if (this.#free > 0 && this.#waiters.length === 0) {
      this.#free -= 1;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.#waiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) {
            this.#waiters.splice(index, 1);
            reject(new AbortedWaitError());
          }
        },
        { once: true },
      );
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.resolve(this.#releaser());
      else this.#free += 1;
    };
  }
}
