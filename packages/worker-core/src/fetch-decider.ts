import type { Job } from "bullmq";
import type { JobKind } from "@herd/jobs";
import type { FetchDecision } from "./pull-loop.js";
import { PrefetchPlanner, type PrefetchPolicy } from "./prefetch.js";
import type { SlotGate } from "./slot-gate.js";

/** A fetched job that sat in the queue at least this long means there is a backlog. */
const BACKLOG_WAIT_MS = 5;
/** Longest a batch job waits between slices for the binding to look at the queue. */
const YIELD_WAIT_MS = 50;
/** How often a deferring binding counts the jobs waiting in its queue (see `deferring`). */
export const DEFER_LOOK_MS = 5;
/** Counts in a row that found the queue empty (100 ms of them) before a deferring binding listens instead. */
export const QUIET_AFTER_LOOKS = 20;
/** Longest a quiet deferring binding listens for a new job before it counts again. */
export const DEFER_LISTEN_MS = 1000;

/**
 * When one binding's pull loops fetch (see Binding), and the bookkeeping that decision needs:
 * - a slot is free (counting jobs already fetched or being fetched) → fetch, blocking on an
 *   empty queue; but with no backlog, not while a job that gave its slot back is still finishing
 *   (see #finishing);
 * - no slot is free, the queue has a backlog, and the PrefetchPlanner expects a running call to
 *   end within the time a fetch takes to reach the gate → fetch one job ahead, without blocking.
 *   It waits at the gate, in this process, and starts the instant the slot frees;
 * - a batch job between slices asked to yield → one non-blocking fetch, so an interactive job
 *   waiting in the queue can reach the gate;
 * - otherwise sleep until a slot frees, health changes, or the prefetch moment comes.
 */
export class FetchDecider {
  /**
   * A clearly faster instance of this model, bound to another worker process, is pulling. Redis
   * hands a new job to whichever binding started waiting first, so at light load jobs would take
   * turns between the two. A deferring binding never waits in the queue: with a slot free it
   * counts the jobs waiting every DEFER_LOOK_MS and fetches one (without blocking) only when two
   * counts in a row saw jobs waiting, so a job reaches it only once the faster instance has left
   * it waiting that long; under a backlog it fetches at once. Once QUIET_AFTER_LOOKS counts in a
   * row found nothing, it listens for a job to become waiting (the queue's events) instead of
   * counting, up to DEFER_LISTEN_MS at a time, and counts every DEFER_LOOK_MS again from the first
   * one it hears of.
   */
  deferring = false;
  /** Jobs a blocking fetch begun before this binding deferred returned (a deferring binding never blocks). */
  readonly #fetchedBeforeDeferring = new WeakSet<Job>();
  /** Kinds whose loop has a deferring binding's non-blocking fetch (not a prefetch) in flight. */
  readonly #deferredFetches = new Set<JobKind>();
  /** Per kind: when a deferring binding last counted the waiting jobs (performance.now). */
  readonly #lookedAt = new Map<JobKind, number>();
  /** Per kind: the last counts that agreed, in a row; n > 0: n found jobs waiting, n < 0: -n found none. */
  readonly #streak = new Map<JobKind, number>();
  readonly #planner: PrefetchPlanner;
  /** Non-blocking fetches ahead of a free slot, in flight. */
  #prefetching = 0;
  /** Jobs fetched that have not reached the gate yet (parsing, cache lookups). */
  #pending = 0;
  /** Jobs that reached the gate and have not settled (their outcome recorded) yet. */
  readonly #reachedGate = new Set<Job>();
  /** Per queue: did the last fetch show jobs waiting? */
  readonly #backlog = new Map<JobKind, boolean>();
  /** Jobs fetched while others waited → when their fetch began (for the planner's lead). */
  readonly #fetchedAt = new Map<string, number>();
  /** Set by a batch job between slices: fetch once, without blocking, even though no slot is free. */
  #yieldRequests: Array<() => void> = [];
  /** Jobs fetched for a yield: when one reaches the gate, the yielding batch jobs go on. */
  readonly #yieldingFor = new Set<string>();

  constructor(
    private readonly gate: SlotGate,
    policy: PrefetchPolicy,
  ) {
    this.#planner = new PrefetchPlanner(policy, gate.slots);
  }

  /** Expected slot time of a call of `size` characters, once learned. */
  expectedMs(size: number | undefined): number | undefined {
    return this.#planner.expectedMs(size);
  }

  /** Slots taken or promised: calls running, jobs waiting at the gate or on their way to it. */
  get occupied(): number {
    return this.gate.inFlight + this.gate.waiting + this.#pending;
  }

  /** A call completed after holding its slot `durationMs`. */
  recordCall(durationMs: number, size: number | undefined): void {
    this.#planner.recordCall(durationMs, size);
  }

  /** For a binding that is pulling: what `kind`'s loop does next. */
  decide(kind: JobKind): FetchDecision {
    if (this.#yieldRequests.length > 0 && this.#prefetching === 0) {
      this.#prefetching += 1;
      return { action: "fetch", block: false };
    }
    // Another kind's loop may be blocked on its own (empty) queue, so fetches in flight do not
    // count against free slots; a binding serving two kinds can hold one extra job at the gate.
    const held = this.gate.waiting + this.#pending;
    if (this.gate.inFlight + held < this.gate.slots) {
      if (!this.#backlog.get(kind) && this.#finishing() > 0) return { action: "wait" };
      return this.deferring ? this.#look(kind) : { action: "fetch", block: true };
    }
    if (!this.#backlog.get(kind)) return { action: "wait" };
    const plan = this.#planner.plan(this.gate.holders(), held + this.#prefetching, performance.now());
    if (plan === "fetch") {
      this.#prefetching += 1;
      return { action: "fetch", block: false };
    }
    return plan === undefined ? { action: "wait" } : { action: "wait", timeoutMs: plan };
  }

  /** A deferring binding's free slot: fetch a job left waiting (or under a backlog), else count again. */
  #look(kind: JobKind): FetchDecision {
    if (this.#backlog.get(kind) || (this.#streak.get(kind) ?? 0) >= 2) {
      this.#streak.delete(kind);
      this.#deferredFetches.add(kind);
      return { action: "fetch", block: false };
    }
    const now = performance.now();
    const nextLookIn = (this.#lookedAt.get(kind) ?? -Infinity) + DEFER_LOOK_MS - now;
    if (nextLookIn > 0) return { action: "wait", timeoutMs: nextLookIn };
    this.#lookedAt.set(kind, now);
    return (this.#streak.get(kind) ?? 0) <= -QUIET_AFTER_LOOKS ? { action: "look", listenMs: DEFER_LISTEN_MS } : { action: "look" };
  }

  /** The count a look decision asked for: `waiting` jobs in `kind`'s queue. */
  onLooked(kind: JobKind, waiting: number): void {
    const streak = this.#streak.get(kind) ?? 0;
    this.#streak.set(kind, waiting > 0 ? Math.max(streak, 0) + 1 : Math.min(streak, 0) - 1);
  }

  /** A look listened, and heard of a job becoming waiting (`woke`) or ran out of time. */
  onListened(kind: JobKind, woke: boolean): void {
    if (!woke) return;
    // Count at once, then every DEFER_LOOK_MS again: the faster instance may leave this job waiting.
    this.#streak.delete(kind);
    this.#lookedAt.delete(kind);
  }

  /** A fetch that decide() asked for ended with `job` (undefined: none, failed or shutting down). */
  onFetched(kind: JobKind, job: Job | undefined, fetchMs: number, blocking: boolean): void {
    if (job && blocking && this.deferring) this.#fetchedBeforeDeferring.add(job);
    const deferredFetch = !blocking && this.#deferredFetches.delete(kind);
    // A yielding batch job resumes once the job fetched for it waits at the gate (so that job,
    // if interactive, is served first), or at once when the fetch found nothing.
    if (!blocking && !deferredFetch && this.#yieldRequests.length > 0) {
      if (job?.id) this.#yieldingFor.add(job.id);
      else this.resolveYields();
    }
    if (!blocking && !deferredFetch) this.#prefetching -= 1;
    if (!job) {
      this.#backlog.set(kind, false);
      return;
    }
    if (job.attemptsMade === 0) this.#backlog.set(kind, (job.processedOn ?? Date.now()) - job.timestamp >= BACKLOG_WAIT_MS);
    // The job was already waiting when the fetch began, so the fetch's time to the gate is all
    // round trip and processing: what a job fetched ahead needs as lead.
    if (job.id !== undefined && job.attemptsMade === 0 && Date.now() - fetchMs - job.timestamp >= BACKLOG_WAIT_MS) this.#fetchedAt.set(job.id, performance.now() - fetchMs);
  }

  /**
   * Jobs past their slot: Ollama has answered, and the job is storing its result, replying and
   * recording its completion. With nothing waiting in the queue, a fetch for the slot such a job
   * freed can wait until it settles: it would gain nothing by going first, and its system call
   * (and Redis running it) would come before the reply a client waits for (about 0.1 ms, measured).
   * When the queue has a backlog, the fetch goes at once: the next job must reach the slot.
   */
  #finishing(): number {
    return this.#reachedGate.size - this.gate.inFlight - this.gate.waiting;
  }

  /** Whether `job` came from a blocking fetch begun before this binding deferred (asked once per job). */
  fetchedBeforeDeferring(job: Job): boolean {
    return this.#fetchedBeforeDeferring.delete(job);
  }

  /** A job's outcome is recorded (or it was handed back): it no longer counts as finishing. */
  settled(job: Job): void {
    this.#reachedGate.delete(job);
    // A job handed to another binding never reached this one's gate to consume its fetch time.
    if (job.id !== undefined) this.#fetchedAt.delete(job.id);
  }

  /**
   * A fetched job starts processing: it counts as holding a place at the gate until the returned
   * function is called, with `atGate` true when it reached the gate (asked for its slot) and false
   * when it ended without (handed back, failed early). Calling it again does nothing.
   */
  jobStarted(job: Job): (atGate: boolean) => void {
    this.#pending += 1;
    let pending = true;
    return (atGate) => {
      if (!pending) return;
      pending = false;
      this.#pending -= 1;
      if (atGate) this.#reachedGate.add(job);
      if (job.id === undefined) return;
      const fetchedAt = this.#fetchedAt.get(job.id);
      if (fetchedAt !== undefined) {
        this.#fetchedAt.delete(job.id);
        if (atGate) this.#planner.recordLead(performance.now() - fetchedAt);
      }
      if (this.#yieldingFor.delete(job.id)) this.resolveYields();
    };
  }

  /**
   * Asks for one non-blocking fetch (the caller wakes the loops) and resolves when the job it
   * fetched waits at the gate, when it found none, or after YIELD_WAIT_MS.
   */
  requestYield(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, YIELD_WAIT_MS);
      this.#yieldRequests.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  resolveYields(): void {
    for (const resolve of this.#yieldRequests.splice(0)) resolve();
  }
}
