import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Express } from "express";

const isClass = (fn: unknown) => /^class[\s{]/.test(Function.prototype.toString.call(fn));

/**
 * An HTTP server for `app` whose requests and responses are born with the app's prototypes.
 * Express otherwise swaps the prototype of every request and response as it arrives
 * (Object.setPrototypeOf in app.handle), which makes V8 rebuild their hidden classes and turns
 * property accesses along the whole request path megamorphic (expressjs/express#5998). With the
 * prototype already in place that swap changes nothing. Sub-apps (the admin UI) still swap theirs.
 * Falls back to a plain server where Node's constructors cannot be called this way.
 */
export function createExpressServer(app: Express): Server {
  if (isClass(IncomingMessage) || isClass(ServerResponse)) return createServer(app);
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    (IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void).call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: unknown): void {
    (ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return createServer({ IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse }, app);
}
