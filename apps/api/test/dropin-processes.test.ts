import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { createTestDatabase, testEnv, uniquePrefix, waitFor, type TestDatabase } from "@herd/testing";
import { closeAll, HerdProcesses } from "./processes.js";

const MESSAGES = [{ role: "user" as const, content: "Walk me through bleeding the hydraulic pump, step by step." }];

/** API and worker as separate processes: tokens and cancellations can only travel through Redis. */
describe("drop-in streaming across processes", () => {
  const prefix = uniquePrefix("dropin-procs");
  let ollama: EmulatorInstance;
  let database: TestDatabase;
  let herd: HerdProcesses;

  beforeAll(async () => {
    ollama = await new EmulatorInstance({ name: "emu", numParallel: 1, preload: true, latency: { evalTokenMs: 10 } }).listen();
    database = await createTestDatabase("dropin_procs");
    herd = await HerdProcesses.start({ REDIS_URL: testEnv.TEST_REDIS_URL, HERD_PREFIX: prefix, DATABASE_URL: database.url, HERD_INSTANCES: ollama.url, HERD_PROBE_INTERVAL: "200ms", HERD_FLEET_REFRESH: "200ms" });
  }, 90_000);

  afterAll(() => closeAll(prefix, herd, ollama, database));

  const executing = async () => (await ollama.stats()).models["llama3.2:latest"]?.executing ?? 0;

  it("tokens produced in the worker process reach the API's client while the generation runs", async () => {
    const client = new Ollama({ host: herd.url });
    const pieces: string[] = [];
    let runningAtFirst: number | undefined;
    for await (const part of await client.chat({ model: "llama3.2", messages: MESSAGES, stream: true })) {
      if (pieces.length === 0) runningAtFirst = await executing();
      pieces.push(part.message.content);
    }
    const direct = await new Ollama({ host: ollama.url }).chat({ model: "llama3.2", messages: MESSAGES, stream: false });
    expect(runningAtFirst).toBe(1);
    expect(pieces.join("")).toBe(direct.message.content);
  });

  it("a client leaving mid-stream makes the worker process abort the call and free the slot", async () => {
    await ollama.setFault({ mode: "slow", rate: 1, factor: 20, status: 500, scope: "inference" });
    try {
      const stream = await new Ollama({ host: herd.url }).chat({ model: "llama3.2", messages: MESSAGES, stream: true });
      for await (const part of stream) {
        expect(part.done).toBe(false);
        break;
      }
      stream.abort();
      await waitFor(async () => (await executing()) === 0, { message: "the instance stopped generating" });
      // Stopped by the worker's abort, not by running to its end (a dozen tokens at 200 ms each would
      // also end within waitFor's deadline): the emulator counts the call as canceled.
      expect((await ollama.stats()).models["llama3.2:latest"]).toMatchObject({ canceled: 1 });
      // The slot is free again: the next request runs at once rather than behind the abandoned one.
      await ollama.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
      const next = await new Ollama({ host: herd.url }).generate({ model: "llama3.2", prompt: "And the return filter?", stream: false, options: { num_predict: 3 } });
      expect(next.done).toBe(true);
      expect((await ollama.stats()).models["llama3.2:latest"]?.maxWaiting).toBe(0);
    } finally {
      await ollama.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });
});
