import { once } from "node:events";
import type { AddressInfo } from "node:net";
import express from "express";
import helmet, { type HelmetOptions } from "helmet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { securityHeaders } from "../src/security-headers.js";

const OPTIONS: HelmetOptions = { contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } };
const ADMIN_OPTIONS: HelmetOptions = { contentSecurityPolicy: false };

async function serve(app: express.Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function headersOf(response: Response): Record<string, string> {
  const { date: _date, ...rest } = Object.fromEntries(response.headers);
  return rest;
}

describe("security headers", () => {
  let withHelmet: Awaited<ReturnType<typeof serve>>;
  let captured: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    const reference = express();
    reference.use((req, res, next) => helmet(req.path.startsWith("/admin") ? ADMIN_OPTIONS : OPTIONS)(req, res, next));
    reference.get("/*path", (_req, res) => void res.send("ok"));
    withHelmet = await serve(reference);
    const app = express();
    app.use(securityHeaders(OPTIONS, "/admin", ADMIN_OPTIONS));
    app.get("/*path", (_req, res) => void res.send("ok"));
    captured = await serve(app);
  });

  afterAll(async () => {
    await withHelmet?.close();
    await captured?.close();
  });

  it("sets exactly the headers helmet itself sets, for normal and admin paths", async () => {
    for (const path of ["/v1/jobs", "/admin/queues"]) {
      const expected = headersOf(await fetch(`${withHelmet.url}${path}`));
      const actual = headersOf(await fetch(`${captured.url}${path}`));
      expect(actual).toEqual(expected);
    }
    const normal = await fetch(`${captured.url}/v1/jobs`);
    expect(normal.headers.get("content-security-policy")).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
    expect(normal.headers.get("x-powered-by")).toBeNull();
    expect((await fetch(`${captured.url}/admin/queues`)).headers.get("content-security-policy")).toBeNull();
  });
});
