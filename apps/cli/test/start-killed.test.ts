import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { FleetRegistry } from "@herd/fleet";
import { freePort, waitFor } from "@herd/testing";
import { inUse } from "../src/ports.js";
import { redisAnswers } from "../src/redis-check.js";
import { consecutiveFreePorts, startHerdCli, stopHerdCli } from "./herd-start.js";

/**
 * Processes whose `file` in /proc (environ, cmdline) holds `marker`. The node processes `herd start`
 * launches inherit its environment; redis-server rewrites that memory with its process title, which
 * names its port.
 */
function processesWith(marker: string, file: "environ" | "cmdline" = "environ"): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/${file}`, "latin1").includes(marker)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read: neither is a leftover of this test.
    }
  }
  return found;
}

/**
 * `herd start` killed outright (kill -9, an IDE's stop button, the OOM killer) cannot stop its
 * children in order. They must not outlive it holding the ports, and the next `herd start` on the
 * same data directory must come up, take over the Redis the first one started and stop it at the end.
 */
describe.runIf(process.platform === "linux")("herd start: killed with SIGKILL", () => {
  let first: ChildProcess | undefined;
  let second: ChildProcess | undefined;
  let dataDir = "";
  const env: Record<string, string> = {};
  let apiPort = 0;
  let emulatorBase = 0;
  let redisTitle = "";

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "herd-start-killed-"));
    apiPort = await freePort();
    emulatorBase = await consecutiveFreePorts(2);
    const redisPort = await freePort();
    redisTitle = `redis-server 127.0.0.1:${redisPort}`;
    Object.assign(env, {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PORT: String(apiPort),
      HERD_EMULATOR_BASE_PORT: String(emulatorBase),
      HERD_DATA_DIR: dataDir,
      HERD_PREFIX: "start-killed",
      HERD_METRICS_PORT: "off",
    });
    first = (await startHerdCli(env)).child;
  }, 90_000);

  /** Ids of the workers whose heartbeats are live in the test's Redis. */
  async function liveWorkers(): Promise<string[]> {
    const redis = new Redis(env["REDIS_URL"] ?? "", { maxRetriesPerRequest: 1 });
    try {
      return (await new FleetRegistry(redis, env["HERD_PREFIX"] ?? "").list()).map((worker) => worker.workerId).sort();
    } finally {
      redis.disconnect();
    }
  }

  afterAll(async () => {
    await stopHerdCli(second);
    await stopHerdCli(first);
    // Whatever still runs from this test (a failed run of it) must not outlive it.
    for (const pid of [...processesWith(dataDir), ...processesWith(redisTitle, "cmdline")]) process.kill(pid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("its API, workers and emulated fleet exit and free their ports; its Redis keeps the data", async () => {
    const killed = first;
    if (!killed) throw new Error("herd start did not start");
    // herd start, the emulated fleet, a worker and the API; and the Redis it started.
    expect(processesWith(dataDir).length).toBeGreaterThanOrEqual(4);
    expect(processesWith(redisTitle, "cmdline")).toHaveLength(1);
    const exited = new Promise((resolve) => killed.once("exit", resolve));
    killed.kill("SIGKILL");
    await exited;
    const ports = [apiPort, emulatorBase, emulatorBase + 1];
    await waitFor(async () => (await Promise.all(ports.map((port) => inUse("127.0.0.1", port)))).every((used) => !used), {
      timeoutMs: 30_000,
      message: "the API and emulator ports free after herd start was killed",
    });
    // Only the Redis it started may remain: nothing else of the killed run.
    await waitFor(() => processesWith(dataDir).length === 0, { timeoutMs: 30_000, message: "no process of the killed herd start left" });
    expect(processesWith(redisTitle, "cmdline")).toHaveLength(1);
    expect(await redisAnswers(env["REDIS_URL"] ?? "")).toBe(true);
  }, 90_000);

  it("the next herd start comes up, takes over that Redis and stops it at the end", async () => {
    const started = await startHerdCli(env);
    second = started.child;
    expect(started.output()).toContain("left running by an earlier herd start");
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const answer = await fetch(`${apiUrl}/v1/jobs?wait=20000`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "embed", model: "all-minilm", input: "after the restart" }),
    });
    expect(answer.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => second?.once("exit", (code) => resolve(code)));
    second.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await redisAnswers(env["REDIS_URL"] ?? "")).toBe(false);
    expect(processesWith(dataDir)).toEqual([]);
    await waitFor(() => processesWith(redisTitle, "cmdline").length === 0, { timeoutMs: 10_000, message: "redis-server exited" });
  }, 120_000);

  it("a second herd start on the same .herd that fails leaves the first one's Redis alone", async () => {
    // Other ports, same data directory: its API finds the embedded database in use and exits, and
    // it stops what it started. The Redis it found running belongs to the first, whose herd start
    // is alive: not a leftover to take over, so not one to stop.
    const owner = await startHerdCli(env);
    second = owner.child;
    expect(owner.output()).toContain("started for you");
    const ownWorkers = await liveWorkers();
    expect(ownWorkers.length).toBeGreaterThan(0);
    const besideEnv = { ...env, PORT: String(await freePort()), HERD_EMULATOR_BASE_PORT: String(await consecutiveFreePorts(2)) };
    const beside = await startHerdCli(besideEnv, { until: "stopping everything" });
    const code = await new Promise<number | null>((resolve) => (beside.child.exitCode !== null ? resolve(beside.child.exitCode) : beside.child.once("exit", (exitCode) => resolve(exitCode))));
    expect(code).toBe(1);
    expect(beside.output()).toContain("is in use by process");
    expect(beside.output()).not.toContain("could not stop the Redis");
    expect(await redisAnswers(env["REDIS_URL"] ?? "")).toBe(true);
    // Its workers had ids of their own: it neither took over nor, leaving, removed the first's heartbeats.
    expect(await liveWorkers()).toEqual(ownWorkers);
    expect((await fetch(`http://127.0.0.1:${apiPort}/ready`)).status).toBe(200);

    const ownerExited = new Promise<number | null>((resolve) => owner.child.once("exit", (exitCode) => resolve(exitCode)));
    owner.child.kill("SIGTERM");
    expect(await ownerExited).toBe(0);
    second = undefined;
    // The herd start that started it stopped it.
    await waitFor(() => processesWith(redisTitle, "cmdline").length === 0, { timeoutMs: 10_000, message: "redis-server exited" });
  }, 150_000);
});
