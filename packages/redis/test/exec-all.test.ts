import { afterAll, describe, expect, it } from "vitest";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { execAll } from "../src/index.js";

/** ioredis resolves exec() with each command's error beside it; execAll must not let one pass. */
describe("execAll on real Redis", () => {
  const prefix = uniquePrefix("exec-all");
  const redis = testRedis();
  const text = `{${prefix}}:text`;
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("gives each command's reply in order", async () => {
    await redis.set(text, "a");
    expect(await execAll(redis.pipeline().get(text).strlen(text).exists(`{${prefix}}:missing`))).toEqual(["a", 1, 0]);
    expect(await execAll(redis.multi().append(text, "b").get(text))).toEqual([2, "ab"]);
  });

  it("throws the error of a command that failed in a pipeline or a MULTI, which exec() itself resolves", async () => {
    await redis.set(text, "a");
    // What the callers used to see: the failure tucked in the results, the other reply intact.
    const raw = await redis.multi().zrange(text, 0, -1).get(text).exec();
    expect(raw?.[0]?.[0]).toBeInstanceOf(Error);
    expect(raw?.[1]).toEqual([null, "a"]);
    await expect(execAll(redis.multi().zrange(text, 0, -1).get(text))).rejects.toThrow(/^WRONGTYPE/);
    await expect(execAll(redis.pipeline().get(text).hset(text, "field", "1"))).rejects.toThrow(/^WRONGTYPE/);
  });
});
