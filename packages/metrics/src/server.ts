import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface Credentials {
  user: string;
  password: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Whether a request carries these credentials as HTTP basic auth (compared in constant time). */
export function hasCredentials(req: Pick<IncomingMessage, "headers">, credentials: Credentials): boolean {
  const header = req.headers.authorization ?? "";
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1] as string, "base64").toString("utf8");
  return timingSafeEqual(digest(given), digest(`${credentials.user}:${credentials.password}`));
}

/**
 * A small HTTP server for processes without an API of their own (workers): GET /metrics, behind
 * HTTP basic auth when `credentials` are given.
 */
export async function startMetricsServer(registry: Registry, port: number, host: string, credentials?: Credentials): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (credentials && !hasCredentials(req, credentials)) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="Herd metrics"', "content-type": "text/plain" }).end("admin credentials required (HTTP basic auth)\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (req.url !== "/metrics" && !req.url?.startsWith("/metrics?")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics collection failed: ${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
