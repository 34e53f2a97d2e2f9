import { afterAll, describe, expect, it } from "vitest";
import { herdKeys } from "@herd/jobs";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { ApiKeys, ConcurrencyQuota, KeyError } from "../src/index.js";

describe("API keys", () => {
  const redis = testRedis();
  const prefix = uniquePrefix("keys");
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("creates a key shown once, stores only its hash, verifies it, and refuses tampered ones", async () => {
    const keys = new ApiKeys(redis, prefix, 0);
    const { token, key } = await keys.create({ name: "team-a" });
    expect(token).toMatch(/^herd_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ name: "team-a", tenant: "team-a" });
    const stored = (await redis.get(herdKeys(prefix).apiKey(key.id))) ?? "";
    expect(stored).not.toContain(token.slice(18));
    expect(JSON.parse(stored)).toMatchObject({ id: key.id, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await keys.verify(token)).toEqual({ keyId: key.id, name: "team-a", tenant: "team-a" });
    const tampered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(await keys.verify(tampered)).toBeUndefined();
    expect(await keys.verify("herd_000000000000_" + "x".repeat(43))).toBeUndefined();
    expect(await keys.verify("not a key")).toBeUndefined();
  });

  it("lists keys without secrets, refuses a duplicate active name, and revokes by name or id", async () => {
    const keys = new ApiKeys(redis, prefix, 0);
    const { token } = await keys.create({ name: "team-b", tenant: "shared" });
    await expect(keys.create({ name: "team-b" })).rejects.toBeInstanceOf(KeyError);
    await expect(keys.create({ name: "bad name!" })).rejects.toThrow(/name must be/);
    const listed = await keys.list();
    expect(listed.map((key) => key.name)).toEqual(expect.arrayContaining(["team-a", "team-b"]));
    expect(JSON.stringify(listed)).not.toContain('"hash"');
    const revoked = await keys.revoke("team-b");
    expect(revoked.revokedAt).toBeDefined();
    expect(await keys.verify(token)).toBeUndefined();
    // The name is free again once its key is revoked.
    const again = await keys.create({ name: "team-b" });
    expect(await keys.verify(again.token)).toMatchObject({ name: "team-b" });
    await expect(keys.revoke("nobody")).rejects.toBeInstanceOf(KeyError);
  });

  it("a process trusts a verified key for the cache period, then sees the revocation", async () => {
    const cached = new ApiKeys(redis, prefix, 60_000);
    const admin = new ApiKeys(redis, prefix, 0);
    const { token, key } = await admin.create({ name: "team-c" });
    expect(await cached.verify(token)).toBeDefined();
    await admin.revoke(key.id);
    expect(await cached.verify(token)).toBeDefined();
    expect(await admin.verify(token)).toBeUndefined();
  });
});

describe("concurrency quota", () => {
  const redis = testRedis();
  const prefix = uniquePrefix("quota");
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it("admits jobs up to the limit, atomically, and frees a place on release", async () => {
    const quota = new ConcurrencyQuota(redis, prefix);
    const admitted = await Promise.all(Array.from({ length: 10 }, (_, i) => quota.admit("k1", `job-${i}`, 3)));
    expect(admitted.filter(Boolean)).toHaveLength(3);
    expect(await quota.count("k1")).toBe(3);
    expect(await quota.admit("k2", "other", 3)).toBe(true);
    const first = admitted.findIndex(Boolean);
    await quota.release("k1", `job-${first}`);
    expect(await quota.admit("k1", "job-late", 3)).toBe(true);
    expect(await quota.admit("k1", "job-later", 3)).toBe(false);
  });

  it("forgets entries nobody released once they lapse", async () => {
    const quota = new ConcurrencyQuota(redis, prefix);
    // An entry whose lease ended a second ago (as if its worker died before releasing it).
    await redis.zadd(herdKeys(prefix).keyInflight("k3"), Date.now() - 1000, "lost-job");
    expect(await quota.count("k3")).toBe(0);
    expect(await quota.admit("k3", "fresh", 1)).toBe(true);
  });
});
