import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ApiKeys } from "@herd/access";
import { deletePrefix, testEnv, testRedis, uniquePrefix } from "@herd/testing";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe("herd keys", () => {
  const prefix = uniquePrefix("cli-keys");
  const redis = testRedis();
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const herd = (...args: string[]) => {
    const result = spawnSync(process.execPath, [CLI, "keys", ...args], { env: { PATH: process.env["PATH"], REDIS_URL: testEnv.TEST_REDIS_URL, HERD_PREFIX: prefix }, encoding: "utf8", timeout: 20_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it("creates a key, shows it once, lists it without the secret, and revokes it", async () => {
    const created = herd("create", "--name", "team-a", "--tenant", "plant-1");
    expect(created.code).toBe(0);
    const token = /herd_[a-z0-9]{12}_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0] ?? "";
    expect(created.stdout).toContain("only time the key is shown");
    expect(await new ApiKeys(redis, prefix, 0).verify(token)).toMatchObject({ name: "team-a", tenant: "plant-1" });

    const listed = herd("list", "--json");
    expect(listed.code).toBe(0);
    const keys = JSON.parse(listed.stdout) as Array<{ name: string; tenant: string; revokedAt?: string }>;
    expect(keys).toEqual([expect.objectContaining({ name: "team-a", tenant: "plant-1" })]);
    expect(listed.stdout).not.toContain(token.slice(18));
    expect(herd("list").stdout).toMatch(/team-a.*plant-1.*active/);

    const revoked = herd("revoke", "team-a");
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked key [a-z0-9]{12} "team-a"/);
    expect(await new ApiKeys(redis, prefix, 0).verify(token)).toBeUndefined();
  });

  it("explains bad usage with exit code 2", () => {
    expect(herd("create").code).toBe(2);
    expect(herd("create").stderr).toContain("--name is required");
    expect(herd("revoke", "nobody").stderr).toContain('no key with id or name "nobody"');
    expect(herd("shred").code).toBe(2);
  });
});
