import { once } from "node:events";
import type { AddressInfo } from "node:net";
import express from "express";
import { describe, expect, it } from "vitest";
import { createExpressServer } from "../src/http-server.js";

describe("createExpressServer", () => {
  it("creates requests and responses with the app's prototypes, so express has nothing to swap", async () => {
    const app = express();
    app.post("/echo", express.json(), (req, res) => void res.status(201).json({ got: req.body as unknown, ip: req.ip, path: req.path }));
    const sub = express();
    sub.get("/inner", (req, res) => void res.json({ sub: Object.getPrototypeOf(req) === sub.request }));
    app.use("/sub", sub);
    const server = createExpressServer(app);
    // Before express sees them: a plain http.createServer(app) would hand over plain objects here.
    const born: boolean[] = [];
    server.prependListener("request", (req, res) => born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const echo = await fetch(`${url}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ a: 1 }) });
      expect(echo.status).toBe(201);
      expect(await echo.json()).toEqual({ got: { a: 1 }, ip: "127.0.0.1", path: "/echo" });
      // A mounted sub-app still gets its own request prototype while it handles the request.
      expect(await (await fetch(`${url}/sub/inner`)).json()).toEqual({ sub: true });
      expect(born).toEqual([true, true]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
