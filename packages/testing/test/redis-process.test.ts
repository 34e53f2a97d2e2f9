import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { freePort } from "../src/ports.js";
import { RedisServer, stopProcess } from "../src/redis.js";
import { RedisExitedError, spawnRedis } from "../src/redis-process.js";

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Hangs up on whoever connects, so closing it never waits on a probe's connection.
    const server = createServer((socket) => socket.destroy());
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("not listening");
  return address.port;
}

describe("starting a private redis-server", () => {
  const toClose: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of toClose.splice(0).reverse()) await close();
  });

  it("reports a port someone else holds as the server's own exit, with its words, not as a timeout", async () => {
    const holder = await listen();
    toClose.push(() => new Promise((resolve) => holder.close(resolve)));
    const error = await spawnRedis(portOf(holder), ["--save", ""]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisExitedError);
    expect((error as RedisExitedError).output).toMatch(/Address already in use|bind/i);
  });

  it("does not take another Redis on the same port for its own", async () => {
    const other = await RedisServer.start();
    toClose.push(() => other.close());
    const error = await spawnRedis(other.port, ["--save", ""]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisExitedError);
  });

  it("resolves with the process once it answers, its data loaded", async () => {
    const port = await freePort();
    const child = await spawnRedis(port, ["--save", ""]);
    toClose.push(() => stopProcess(child, "SIGTERM"));
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
    toClose.push(async () => client.disconnect());
    await client.connect();
    expect(await client.info("server")).toContain(`process_id:${child.pid}`);
  });
});
