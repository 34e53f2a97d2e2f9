import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { ApiKeys, Principal } from "@herd/access";
import { ApiError } from "./errors.js";
import { ADMIN_PATH } from "./metrics.js";

/** Who a request runs as in open mode (local development, loopback only). */
export const OPEN_PRINCIPAL: Principal = { keyId: "open", name: "open", tenant: "local" };

/**
 * Paths that need no API key: liveness and readiness for orchestrators, and the operator's
 * endpoints, which have their own credentials (Bull Board: the admin login) or none yet (/metrics).
 */
function exempt(path: string): boolean {
  return path === "/health" || path === "/ready" || path === "/metrics" || path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`);
}

const MISSING = "an API key is required: send Authorization: Bearer <key> or x-api-key: <key> (an operator creates one with herd keys create)";

/**
 * Checks `Authorization: Bearer <key>` (or `x-api-key: <key>`) on every request but the exempt ones, and records the
 * caller in `res.locals.principal`. With no key store (open mode) every request is local.
 */
export function authenticate(keys: ApiKeys | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!keys) {
      res.locals["principal"] = OPEN_PRINCIPAL;
      return next();
    }
    if (exempt(req.path)) return next();
    const header = req.get("authorization") ?? "";
    // Anthropic's clients send their key as x-api-key.
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? (req.get("x-api-key") || undefined);
    const challenge = { headers: { "WWW-Authenticate": 'Bearer realm="Herd"' } };
    if (!token) return next(new ApiError(401, "unauthorized", MISSING, challenge));
    keys.verify(token).then(
      (principal) => {
        if (!principal) return next(new ApiError(401, "unauthorized", "the API key is unknown or revoked", challenge));
        res.locals["principal"] = principal;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/** The tenant of the request's caller (set by authenticate()). */
export function tenantOf(res: Response): string {
  return (res.locals["principal"] as Principal | undefined)?.tenant ?? OPEN_PRINCIPAL.tenant;
}

/** The API key a request runs under and its concurrency limit, for the job quota (none in open mode). */
export function quotaKeyOf(res: Response, defaultConcurrency: number | undefined): { id: string; concurrency: number | undefined } | undefined {
  const principal = res.locals["principal"] as Principal | undefined;
  if (!principal || principal.keyId === OPEN_PRINCIPAL.keyId) return undefined;
  return { id: principal.keyId, concurrency: principal.concurrency ?? defaultConcurrency };
}
