import type { RedisClient } from "@herd/redis";

type StreamEntry = [id: string, fields: string[]];

/** BullMQ records `event waiting` whenever a job becomes fetchable: added, retried, delayed no more, put back. */
function isWaitingEvent(fields: string[]): boolean {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "event") return fields[i + 1] === "waiting";
  }
  return false;
}

/**
 * Hears, from a queue's BullMQ events stream, that a job became waiting, without asking the
 * queue over and over: a deferring binding with nothing to do would otherwise count the queue's
 * jobs every few milliseconds (about 200 Redis scripts a second, per binding, all day). Reading the
 * stream takes nothing from anyone (unlike BullMQ's marker, which the blocked workers pop).
 * Its blocking reads need a connection of their own, opened on first use.
 */
export class QueueActivity {
  #client: RedisClient | undefined;
  #closed = false;

  constructor(
    private readonly open: () => RedisClient,
    private readonly eventsKey: string,
  ) {}

  /** The newest event's id: what waitAfter listens after. Take it before the count that precedes the wait. */
  async mark(): Promise<string> {
    const newest = (await this.#connection().xrevrange(this.eventsKey, "+", "-", "COUNT", 1))[0];
    return newest?.[0] ?? "0-0";
  }

  /** True as soon as a job became waiting after `since`; false when `timeoutMs` passed without. */
  async waitAfter(since: string, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    let after = since;
    for (;;) {
      const left = Math.floor(deadline - performance.now());
      // BLOCK 0 would wait forever.
      if (left < 1) return false;
      const reply = await this.#connection().xread("COUNT", 100, "BLOCK", left, "STREAMS", this.eventsKey, after);
      const entries = (reply?.[0]?.[1] ?? []) as StreamEntry[];
      if (entries.some(([, fields]) => isWaitingEvent(fields))) return true;
      after = entries.at(-1)?.[0] ?? after;
    }
  }

  /** Ends a wait in progress (it rejects) and closes the connection. */
  close(): void {
    this.#closed = true;
    this.#client?.disconnect();
    this.#client = undefined;
  }

  #connection(): RedisClient {
    if (this.#closed) throw new Error("queue activity listener closed");
    this.#client ??= this.open();
    return this.#client;
  }
}
