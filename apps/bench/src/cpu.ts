import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** One counter (CPU ms, write system calls) by process role, since some fixed point. */
export type ProcessCounts = Record<string, number>;

/** CPU ms and write system calls (write, writev: each a wake-up of the peer) by process role. */
export interface ProcessReading {
  cpuMs: ProcessCounts;
  writes: ProcessCounts;
}

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux build Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  cpuMs: number;
}

/** syscw of /proc/<pid>/io: how many write-family system calls the process made. */
function writeCalls(pid: number | "self"): number | undefined {
  try {
    const count = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1];
    return count === undefined ? undefined : Number(count);
  } catch {
    return undefined; // Gone, or not ours to read.
  }
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

/** CPU ms and write calls of `root` and every live process below it (nginx's master and its worker). */
export function processTreeUsage(root: number): { cpuMs: number; writes: number | undefined } | undefined {
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
  let cpuMs = 0;
  let writes: number | undefined = 0;
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    cpuMs += stats.get(pid)?.cpuMs ?? 0;
    // Only the tree's own io files are read, not every process's on the machine.
    if (writes !== undefined) {
      const calls = writeCalls(pid);
      writes = calls === undefined ? undefined : writes + calls;
    }
    pending.push(...(children.get(pid) ?? []));
  }
  return { cpuMs, writes };
}

/** The Redis server's own CPU ms (INFO cpu), whoever started it, and its write calls when it runs here. */
export async function redisUsage(redis: Redis): Promise<{ cpuMs: number | undefined; writes: number | undefined }> {
  const info = (await redis.call("INFO", "server", "cpu")) as string;
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  const pid = /process_id:(\d+)/.exec(info)?.[1];
  return {
    cpuMs: user === undefined || sys === undefined ? undefined : (Number(user) + Number(sys)) * 1000,
    writes: pid === undefined ? undefined : writeCalls(Number(pid)),
  };
}

/** This process's CPU ms: the load generator. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Reads the CPU and write calls of each named process (tree), Redis and the load generator. */
export function cpuSampler(pids: Record<string, number | undefined>, redis: Redis): () => Promise<ProcessReading> {
  return async () => {
    const reading: ProcessReading = { cpuMs: {}, writes: {} };
    const put = (role: string, usage: { cpuMs: number | undefined; writes: number | undefined }) => {
      if (usage.cpuMs !== undefined) reading.cpuMs[role] = usage.cpuMs;
      if (usage.writes !== undefined) reading.writes[role] = usage.writes;
    };
    put("load generator", { cpuMs: selfCpuMs(), writes: writeCalls("self") });
    for (const [role, pid] of Object.entries(pids)) {
      const usage = pid === undefined ? undefined : processTreeUsage(pid);
      if (usage) put(role, usage);
    }
    put("Redis", await redisUsage(redis));
    return reading;
  };
}

/** CPU ms per job between two readings, for the roles both have. */
export function perJob(before: ProcessCounts, after: ProcessCounts, jobs: number): ProcessCounts {
  const result: ProcessCounts = {};
  for (const [role, end] of Object.entries(after)) {
    const start = before[role];
    if (start !== undefined && jobs > 0) result[role] = (end - start) / jobs;
  }
  return result;
}
