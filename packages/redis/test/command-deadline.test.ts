import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { RedisServer, waitFor } from "@herd/testing";
import { closeRedis, createRedisClient, type RedisClient } from "../src/index.js";

// A Redis that stops answering (CLIENT PAUSE stands in for a node that hangs mid-failover): the API's
// command connection must give up at its deadline, not leave the request waiting for Redis.
describe("the command role's deadline", () => {
  let server: RedisServer;
  let client: RedisClient;
  let admin: RedisClient;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = createRedisClient({ url: server.url, role: "command", logger: silentLogger(), commandTimeoutMs: 200 });
    admin = createRedisClient({ url: server.url, role: "blocking", logger: silentLogger() });
    await waitFor(() => client.status === "ready" && admin.status === "ready");
  });
  afterAll(async () => {
    if (client) await closeRedis(client);
    if (admin) await closeRedis(admin);
    await server?.close();
  });

  it("rejects a command Redis does not answer in time, and works again once it answers", async () => {
    // Without the deadline the command would simply answer once the pause ends, so the rejection
    // itself proves the deadline; no clock is read.
    await admin.client("PAUSE", 1000, "ALL");
    await expect(client.get("deadline:key")).rejects.toThrow(/Command timed out/);
    await admin.client("UNPAUSE");
    await waitFor(async () => (await client.ping().catch(() => undefined)) === "PONG");
  });
});
