import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const LOWEST = 10_000;

/**
 * The first port of the kernel's ephemeral range (Linux's default 32768 when it cannot be read).
 * Ports below it are never given to a client socket as its local port, so one found free stays
 * free until a test's server binds it. A port from `listen(0)` comes from that range instead, and
 * any connection opened meanwhile (this suite opens thousands) may take it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > LOWEST) return low;
  } catch {
    // Not Linux: the default below.
  }
  return 32_768;
}

/** Handed out by this process and maybe not bound yet: never handed out twice. */
const handedOut = new Set<number>();

/** Whether nothing holds `port` at 127.0.0.1 right now (a listener or a client socket). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive free ports below the ephemeral range, and below `limit` when
 * given (a Redis Cluster node also needs port + 10000).
 */
export async function consecutiveFreePorts(count: number, limit = ephemeralLow()): Promise<number> {
  const span = limit - count - LOWEST;
  if (span <= 0) throw new Error(`no room for ${count} ports between ${LOWEST} and ${limit}`);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const base = LOWEST + Math.floor(Math.random() * span);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) {
      for (const port of ports) handedOut.add(port);
      return base;
    }
  }
  throw new Error(`no ${count} consecutive free ports between ${LOWEST} and ${limit}`);
}

/** A free port below the ephemeral range (see {@link ephemeralLow}). */
export function freePort(limit?: number): Promise<number> {
  return consecutiveFreePorts(1, limit);
}

/** A port whose Redis Cluster bus port (port + 10000) is below the ephemeral range too, both free. */
export async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = await freePort(ephemeralLow() - 10_000);
    if (await portIsFree(port + 10_000)) {
      handedOut.add(port + 10_000);
      return port;
    }
  }
  throw new Error("no free port whose cluster bus port (port + 10000) is free too");
}
