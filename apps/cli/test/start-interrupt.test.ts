import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, RedisServer, waitFor } from "@herd/testing";
import { consecutiveFreePorts, startHerdCli, stopHerdCli } from "./herd-start.js";

/**
 * Ctrl+C in a terminal signals the whole foreground process group, not only `herd start`. Its
 * children must still stop in order (API, workers, emulator, Redis last), so that a worker finishes
 * its running job against a live instance and stores the result in a live Redis.
 */
describe("herd start: Ctrl+C (SIGINT to the terminal's process group)", () => {
  let child: ChildProcess;
  let output: () => string = () => "";
  let apiUrl = "";
  let emulatorBase = 0;
  let dataDir = "";
  let replay: RedisServer | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "herd-start-int-"));
    const port = await freePort();
    emulatorBase = await consecutiveFreePorts(2);
    apiUrl = `http://127.0.0.1:${port}`;
    // A process group of its own, led by herd start: the test plays the terminal.
    const started = await startHerdCli(
      {
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        PORT: String(port),
        HERD_EMULATOR_BASE_PORT: String(emulatorBase),
        HERD_DATA_DIR: dataDir,
        HERD_PREFIX: "start-int",
        HERD_METRICS_PORT: "off",
      },
      { detached: true },
    );
    child = started.child;
    output = started.output;
  }, 90_000);

  afterAll(async () => {
    await stopHerdCli(child);
    await replay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("lets the worker finish its running job, stores its result, and exits 0 without errors", async () => {
    // Slow the emulated instances down so the generation is still running when Ctrl+C comes.
    for (let i = 0; i < 2; i += 1) {
      const fault = await fetch(`http://127.0.0.1:${emulatorBase + i}/_emulator/fault`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode: "slow", factor: 10 }) });
      expect(fault.status).toBe(200);
    }
    const submitted = await fetch(`${apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "generate", model: "llama3.2", prompt: "Why must the pump be bled?", options: { temperature: 0 } }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const executing = async () => {
      let total = 0;
      for (let i = 0; i < 2; i += 1) {
        const stats = (await (await fetch(`http://127.0.0.1:${emulatorBase + i}/_emulator/stats`)).json()) as { models: Record<string, { executing: number }> };
        total += Object.values(stats.models).reduce((sum, model) => sum + model.executing, 0);
      }
      return total;
    };
    await waitFor(async () => (await executing()) === 1, { timeoutMs: 20_000, message: "the generation running on an instance" });

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    process.kill(-(child.pid ?? 0), "SIGINT");
    expect(await exited).toBe(0);
    expect(output()).toContain("SIGINT received, stopping");
    // Warnings and errors only (LOG_LEVEL=warn): nothing failed on the way down.
    const problems = output().split("\n").filter((line) => /"level":(40|50|60)/.test(line) && !line.includes("open mode"));
    expect(problems).toEqual([]);

    // The queue Redis kept its append-only file: the job completed, with its result stored.
    replay = await RedisServer.start(undefined, ["--dir", join(dataDir, "redis")]);
    const redis = new Redis(replay.url);
    try {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, "MATCH", `*${id}`, "COUNT", 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0");
      const jobKey = keys.find((key) => key.endsWith(`:${id}`) && !key.includes(":result:"));
      const resultKey = keys.find((key) => key.endsWith(`:result:${id}`));
      expect(jobKey).toBeDefined();
      expect(resultKey).toBeDefined();
      expect(await redis.hget(jobKey ?? "", "finishedOn")).toMatch(/^\d+$/);
      expect(await redis.hget(jobKey ?? "", "failedReason")).toBeNull();
      expect(await redis.get(resultKey ?? "")).toContain('"done_reason"');
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
