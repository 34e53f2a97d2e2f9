import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { herdKeys } from "@herd/jobs";
import { createLogger } from "@herd/logger";
import { EmulatorInstance, NO_FAULT } from "@herd/ollama-emulator";
import { deletePrefix, uniquePrefix, waitFor } from "@herd/testing";
import { WorkerRuntime } from "../src/index.js";
import { Producer, workerConfig } from "./harness.js";

type Line = Record<string, unknown>;

describe("job transition logs", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("at debug level, every transition is one JSON line with job id, queue, instance and duration; a canceled job is info, not a warning", async () => {
    const prefix = uniquePrefix("logs");
    const instance = await new EmulatorInstance({ name: "emu-0", preload: true }).listen();
    cleanups.push(() => instance.close());
    const producer = new Producer(prefix);
    cleanups.push(async () => {
      await deletePrefix(producer.redis, prefix);
      await producer.close();
    });
    const lines: Line[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString("utf8").split("\n")) if (text.trim()) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    const logger = createLogger({ name: "herd-worker", level: "debug", format: "json", destination });
    const runtime = new WorkerRuntime({ config: workerConfig(prefix, [instance], { HERD_JOB_ATTEMPTS: "2" }), logger });
    await runtime.start();
    cleanups.push(() => runtime.close(1000));

    const ok = await producer.embed("a job that works");
    await waitFor(async () => (await producer.state(ok)) === "completed", { message: "job completed" });
    // 400 is unrecoverable: the job fails at once, without a retry.
    await instance.setFault({ ...NO_FAULT, mode: "error", rate: 1, status: 400, scope: "inference" });
    const bad = await producer.embed("a job Ollama rejects");
    await waitFor(async () => (await producer.state(bad)) === "failed", { message: "job failed" });

    // A job whose client went away, canceled while Ollama works on it.
    await instance.setFault({ ...NO_FAULT, mode: "hang", rate: 1, scope: "inference" });
    const canceled = await producer.embed("a job nobody waits for any more");
    await waitFor(async () => (await producer.state(canceled)) === "active", { message: "the job running" });
    await producer.redis.publish(herdKeys(prefix).cancelChannel, canceled);
    await waitFor(async () => (await producer.state(canceled)) === "failed", { message: "job canceled" });

    const of = (jobId: string) => lines.filter((line) => line["jobId"] === jobId);
    const queue = "embed.nomic-embed-text~3Alatest";
    expect(of(ok).map((line) => line["msg"])).toEqual(["job started", "job completed"]);
    expect(of(ok)[0]).toMatchObject({ level: 20, service: "herd-worker", queue, instance: "emu-0", attempt: 1, waitMs: expect.any(Number) });
    expect(of(ok)[1]).toMatchObject({ queue, instance: "emu-0", durationMs: expect.any(Number) });
    expect(of(bad).map((line) => line["msg"])).toEqual(["job started", "job failed"]);
    expect(of(bad)[1]).toMatchObject({ level: 40, queue, instance: "emu-0", code: expect.any(String), durationMs: expect.any(Number) });
    expect(of(canceled).map((line) => line["msg"])).toEqual(["job started", "job canceled"]);
    expect(of(canceled)[1]).toMatchObject({ level: 30, queue, instance: "emu-0", durationMs: expect.any(Number) });
    expect(typeof lines[0]?.["time"]).toBe("string");
  });
});
