import { readFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { consecutiveFreePorts, freeClusterPort, freePort, portIsFree } from "../src/ports.js";

const EPHEMERAL_LOW = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);

describe("free ports for test servers", () => {
  it("come from below the kernel's ephemeral range, where no client socket takes them, and never twice", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port).toBeLessThan(EPHEMERAL_LOW);
    expect(new Set(ports).size).toBe(ports.length);
    const base = await consecutiveFreePorts(3);
    expect(base + 2).toBeLessThan(EPHEMERAL_LOW);
    for (const port of [base, base + 1, base + 2]) expect(ports).not.toContain(port);
  });

  it("leave room below that range for a cluster node's bus port", async () => {
    const port = await freeClusterPort();
    expect(port + 10_000).toBeLessThan(EPHEMERAL_LOW);
    expect(await portIsFree(port + 10_000)).toBe(true);
  });

  it("portIsFree sees a listener, and a client socket's local port alike (what a cluster bus port collides with)", async () => {
    const held: Socket[] = [];
    const server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("not listening");
    const client = createConnection({ host: "127.0.0.1", port: address.port });
    try {
      await new Promise((resolve) => client.once("connect", resolve));
      expect(await portIsFree(address.port)).toBe(false);
      expect(await portIsFree(client.localPort ?? 0)).toBe(false);
      expect(await portIsFree(await freePort())).toBe(true);
    } finally {
      client.destroy();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
