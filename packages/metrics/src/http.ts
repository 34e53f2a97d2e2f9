import type { NextFunction, Request, RequestHandler, Response } from "express";
import { Histogram, type Registry } from "prom-client";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Request durations by route template (`/v1/jobs/:id`, never the id itself), method and status.
 * Requests no route matched count as "unmatched", so label values stay bounded whatever clients
 * send. `routeOf` names routes the default cannot see (sub-apps such as the admin UI).
 */
export function httpMetrics(registry: Registry, routeOf: (req: Request) => string | undefined = () => undefined): RequestHandler {
  const duration = new Histogram({
    name: "herd_http_request_duration_seconds",
    help: "HTTP request duration by route template, method and status.",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once("finish", () => {
      const route = routeOf(req) ?? (req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : "unmatched");
      const method = METHODS.has(req.method) ? req.method : "OTHER";
      duration.observe({ route, method, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
