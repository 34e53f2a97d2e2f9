import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import helmet, { type HelmetOptions } from "helmet";

/** A header to set, or with `undefined` one to remove (helmet removes X-Powered-By). */
type Header = readonly [name: string, value: string | undefined];

/**
 * Helmet's headers for `options`, found by running helmet once against a recording response.
 * With static options (no per-request CSP nonces) helmet sets the same headers on every
 * response, through a dozen chained middlewares; setting the recorded list costs one.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): Header[] {
  const headers: Header[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: (name: string) => headers.push([name, undefined]),
    getHeader: () => undefined,
  };
  let failure: unknown;
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
    finished = true;
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  if (!finished) throw new Error("helmet did not finish synchronously: its options are not static");
  return headers;
}

/** Sets helmet's headers for `options`, or `adminOptions` on paths under `adminPath`. */
export function securityHeaders(options: Readonly<HelmetOptions>, adminPath: string, adminOptions: Readonly<HelmetOptions>): RequestHandler {
  const normal = helmetHeaders(options);
  const admin = helmetHeaders(adminOptions);
  return (req, res, next) => {
    for (const [name, value] of req.path.startsWith(adminPath) ? admin : normal) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}
