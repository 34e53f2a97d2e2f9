import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";

/** redis-server exited before it answered: its port (or cluster bus port) was taken, or it refused its arguments. */
export class RedisExitedError extends Error {
  constructor(
    readonly port: number,
    readonly output: string,
  ) {
    super(`redis-server on port ${port} exited before answering; its last output:\n${output.trim() || "(none)"}`);
    this.name = "RedisExitedError";
  }
}

/** Keeps the last `limit` characters of a stream and drains the rest, so a chatty server never blocks on a full pipe. */
function tail(stream: NodeJS.ReadableStream | null, limit = 4_000): () => string {
  let text = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-limit);
  });
  return () => text;
}

/**
 * Whether the Redis answering on `port` is the process `pid` (another test's server may hold the
 * port) and has finished loading its data (a restarted server must hold what it persisted).
 */
async function answers(port: number, pid: number | undefined): Promise<boolean> {
  // Bounded, so a port held by something that accepts but never answers cannot stall the wait.
  const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false, connectTimeout: 1_000, commandTimeout: 1_000 });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
    const info = await probe.info();
    return new RegExp(`^process_id:${pid}\\r?$`, "m").test(info) && /^loading:0\r?$/m.test(info);
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts redis-server on `port` and resolves once it is up with its data loaded. Rejects with
 * {@link RedisExitedError} (carrying the server's own words) if it exits first, so a caller can
 * pick another port instead of waiting out a timeout, and with a timeout error otherwise.
 */
export async function spawnRedis(port: number, args: readonly string[], timeoutMs = 10_000): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  let exited = false;
  const exit = new Promise<never>((_, reject) => {
    const fail = (): void => {
      exited = true;
      reject(new RedisExitedError(port, `${stdout()}${stderr()}`));
    };
    child.once("error", fail);
    child.once("exit", fail);
  });
  exit.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    while (!exited) {
      if (await answers(port, child.pid)) return child;
      if (Date.now() >= deadline) {
        child.kill("SIGKILL");
        throw new Error(`timed out after ${timeoutMs}ms waiting for redis-server on port ${port}; its last output:\n${stdout()}${stderr()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return exit;
  })();
  return Promise.race([ready, exit]);
}
