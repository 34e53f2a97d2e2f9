import type { RedisClient } from "@herd/redis";
import { herdKeys } from "@herd/jobs";
import { WorkerHeartbeat } from "./heartbeat.js";

/**
 * Expiries are on Redis's clock (TIME), never a process's: workers run on other machines than the
 * API, and a worker whose clock lagged the API's by more than the heartbeat's lifetime (6 s by
 * default; a VM without NTP drifts that far in days) was pruned by every API read as already
 * expired, so a serving fleet looked empty (503 no_live_workers).
 */
const REDIS_NOW_MS = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** The heartbeat: its key (expiring) and its entry in the fleet's index, scored by expiry. Returns the one it replaced. */
const PUBLISH = `${REDIS_NOW_MS}
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return previous`;

/**
 * A worker leaving: its heartbeat and index entry go, unless the heartbeat under its id is another
 * process's (two workers given one id): that one stays in the fleet.
 */
const LEAVE = `local current = redis.call('GET', KEYS[1])
if current then
  local ok, beat = pcall(cjson.decode, current)
  if not (ok and type(beat) == 'table' and beat.host == ARGV[2] and beat.pid == tonumber(ARGV[3]) and beat.startedAt == ARGV[4]) then return 0 end
  redis.call('DEL', KEYS[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`;

/** Which worker process wrote a heartbeat: an id names a worker, these fields one run of it. */
export type WorkerRun = Pick<WorkerHeartbeat, "workerId" | "host" | "pid" | "startedAt">;

export function sameRun(a: WorkerRun, b: WorkerRun): boolean {
  return a.workerId === b.workerId && a.host === b.host && a.pid === b.pid && a.startedAt === b.startedAt;
}

const RunFields = WorkerHeartbeat.pick({ workerId: true, host: true, pid: true, startedAt: true });

function runOf(value: unknown): WorkerRun | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const parsed = RunFields.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // Not a heartbeat we can read: nobody's run.
  }
}

/** The fleet's index without the entries expired by now. */
const LIST = `${REDIS_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/**
 * Both scripts run even when Redis is out of memory (Redis ≥ 7 `allow-oom`): a heartbeat replaces
 * a value of the same size and pruning frees memory, and a fleet whose heartbeats Redis refused
 * would look dead to the API (503 no_live_workers, /ready failing) for as long as Redis stays
 * full, though every worker is there and accepted jobs can still be polled.
 */
const ALLOW_OOM = "#!lua flags=allow-oom\n";

/** Redis 6.2 knows no script flags: the shebang line does not compile there. */
const isShebangRefused = (error: unknown) => error instanceof Error && /Error compiling script|shebang/i.test(error.message);

/**
 * Worker heartbeats live in Redis: one expiring key per worker plus a sorted set (score = expiry)
 * to list them without SCAN. A worker that dies simply stops refreshing and ages out.
 */
export class FleetRegistry {
  readonly #keys: ReturnType<typeof herdKeys>;
  /** False once Redis refused the flagged script (before 7.0): plain writes from then on. */
  #allowOom = true;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = herdKeys(prefix);
  }

  /** Publishes `heartbeat`; returns the run whose heartbeat it replaced (none when it had lapsed). */
  async publish(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<WorkerRun | undefined> {
    const previous = await this.#run(PUBLISH, [this.#keys.worker(heartbeat.workerId), this.#keys.workers], [JSON.stringify(heartbeat), String(Math.round(ttlMs)), heartbeat.workerId]);
    return runOf(previous);
  }

  /** Runs `script` flagged allow-oom, or unflagged on a Redis that knows no flags (6.2). */
  async #run(script: string, keys: string[], args: string[]): Promise<unknown> {
    if (this.#allowOom) {
      try {
        return await this.redis.eval(ALLOW_OOM + script, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isShebangRefused(error)) throw error;
        this.#allowOom = false;
      }
    }
    return this.redis.eval(script, keys.length, ...keys, ...args);
  }

  /**
   * Takes `run` out of the fleet; a heartbeat another run published under the same id stays.
   * Flagged allow-oom like publish: a worker leaving a full Redis must still leave the fleet.
   */
  async leave(run: WorkerRun): Promise<void> {
    await this.#run(LEAVE, [this.#keys.worker(run.workerId), this.#keys.workers], [run.workerId, run.host, String(run.pid), run.startedAt]);
  }

  /** Live workers' heartbeats; expired members are pruned on the way. Malformed entries are skipped. */
  async list(): Promise<WorkerHeartbeat[]> {
    const workerIds = (await this.#run(LIST, [this.#keys.workers], [])) as string[];
    if (workerIds.length === 0) return [];
    const values = await this.redis.mget(workerIds.map((id) => this.#keys.worker(id)));
    const heartbeats: WorkerHeartbeat[] = [];
    for (const value of values) {
      if (value === null) continue;
      try {
        const parsed = WorkerHeartbeat.safeParse(JSON.parse(value));
        if (parsed.success) heartbeats.push(parsed.data);
      } catch {
        // A half-written or foreign value: ignore it, the worker will overwrite it.
      }
    }
    return heartbeats;
  }
}
