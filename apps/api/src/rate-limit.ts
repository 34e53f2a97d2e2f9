import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { RedisClient } from "@herd/redis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Principal, RateLimit } from "@herd/access";
import { ApiError, redisFailure } from "./errors.js";

/**
 * Per-key request limits, counted in Redis so every API process shares them: beyond its rate a
 * key gets 429 with Retry-After until its window has room again. Keys without a rate of their own
 * get `defaultRate`; none at all means no limit.
 */
export function rateLimit(redis: RedisClient, prefix: string, defaultRate: RateLimit | undefined): RequestHandler {
  const limiters = new Map<string, RateLimiterRedis>();
  const limiterFor = (rate: RateLimit) => {
    const name = `${rate.requests}-${rate.perSeconds}`;
    let limiter = limiters.get(name);
    if (!limiter) {
      // The hash tag keeps the counters in the same Redis Cluster slot as the rest of Herd's keys.
      limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `{${prefix}}:ratelimit:${name}`, points: rate.requests, duration: rate.perSeconds });
      limiters.set(name, limiter);
    }
    return limiter;
  };
  return (_req: Request, res: Response, next: NextFunction) => {
    const principal = res.locals["principal"] as Principal | undefined;
    const rate = principal?.rate ?? defaultRate;
    if (!principal || !rate || principal.keyId === "open") return next();
    limiterFor(rate)
      .consume(principal.keyId)
      .then(
        () => next(),
        (rejection: unknown) => {
          if (rejection instanceof RateLimiterRes) {
            const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
            return next(new ApiError(429, "rate_limited", `this API key is limited to ${rate.requests} requests per ${rate.perSeconds === 1 ? "second" : `${rate.perSeconds} s`}; retry in ${seconds} s`, { headers: { "Retry-After": String(seconds) } }));
          }
          next(redisFailure(rejection) ?? rejection);
        },
      );
  };
}
