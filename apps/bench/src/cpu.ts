import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** CPU time in ms, by process role, since some fixed point. */
export type CpuReading = Record<string, number>;

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux build Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  cpuMs: number;
}

/** utime + stime of one process from /proc (fields 14 and 15; the name in field 2 may hold spaces). */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // The process is gone.
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const [ppid, utime, stime] = [Number(fields[1]), Number(fields[11]), Number(fields[12])];
  if (![ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { ppid, cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND };
}

/** CPU ms of `root` and every live process below it (nginx's master and its worker). */
export function processTreeCpuMs(root: number): number | undefined {
  let pids: number[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return undefined; // No /proc on this system.
  }
  const stats = new Map<number, ProcStat>();
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const stat = procStat(pid);
    if (!stat) continue;
    stats.set(pid, stat);
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  if (!stats.has(root)) return undefined;
  let total = 0;
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    total += stats.get(pid)?.cpuMs ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** The Redis server's own CPU ms (INFO cpu), whoever started it. */
export async function redisCpuMs(redis: Redis): Promise<number | undefined> {
  const info = await redis.info("cpu");
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  return user === undefined || sys === undefined ? undefined : (Number(user) + Number(sys)) * 1000;
}

/** This process's CPU ms: the load generator. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Reads the CPU of each named process (tree), Redis and the load generator. */
export function cpuSampler(pids: Record<string, number | undefined>, redis: Redis): () => Promise<CpuReading> {
  return async () => {
    const reading: CpuReading = { "load generator": selfCpuMs() };
    for (const [role, pid] of Object.entries(pids)) {
      const ms = pid === undefined ? undefined : processTreeCpuMs(pid);
      if (ms !== undefined) reading[role] = ms;
    }
    const redisMs = await redisCpuMs(redis);
    if (redisMs !== undefined) reading["Redis"] = redisMs;
    return reading;
  };
}

/** CPU ms per job between two readings, for the roles both have. */
export function perJob(before: CpuReading, after: CpuReading, jobs: number): CpuReading {
  const result: CpuReading = {};
  for (const [role, end] of Object.entries(after)) {
    const start = before[role];
    if (start !== undefined && jobs > 0) result[role] = (end - start) / jobs;
  }
  return result;
}
