import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { shorten } from "../src/admin.js";
import { Stack } from "./stack.js";

const USER = "ops";
const PASSWORD = "correct horse battery staple";
const EMBED_QUEUE = "embed.nomic-embed-text~3Alatest";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("Bull Board at /admin/queues", () => {
  let stack: Stack;
  let browser: Browser;
  let jobId = "";

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("admin"), fleet: { instances: 1, preload: true }, env: { HERD_ADMIN_USER: USER, HERD_ADMIN_PASSWORD: PASSWORD } });
    jobId = (await stack.run({ type: "embed", model: "nomic-embed-text", input: `${"long input ".repeat(300)}end` })).id;
    await stack.post("/v1/collections", { name: "docs", model: "nomic-embed-text" });
    // Flags as this machine needs them: no sandbox as root, no background network calls (Playwright
    // gives each launch a fresh, temporary profile).
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("refuses without credentials or with wrong ones, asking the browser for a login", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: basic(USER, "wrong password!!") }, { authorization: basic("admin", PASSWORD) }];
    for (const headers of attempts) {
      const response = await fetch(`${stack.url}/admin/queues`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Basic realm="Herd admin"');
      expect(await response.json()).toEqual({ error: { code: "unauthorized", message: "admin credentials required (HTTP basic auth)" } });
    }
    expect((await fetch(`${stack.url}/admin/queues/api/queues`)).status).toBe(401);
  });

  it("puts /metrics behind the same admin login", async () => {
    const anonymous = await fetch(`${stack.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="Herd metrics"');
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: basic(USER, "wrong password!!") } })).status).toBe(401);
    const admin = await fetch(`${stack.url}/metrics`, { headers: { authorization: basic(USER, PASSWORD) } });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain("herd_http_request_duration_seconds");
  });

  it("lists every queue in a real browser once logged in", async () => {
    const anonymous = await browser.newContext();
    // Chromium, asked for a login it cannot give, refuses to show the page at all.
    await expect((await anonymous.newPage()).goto(`${stack.url}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();

    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    const page = await context.newPage();
    const response = await page.goto(`${stack.url}/admin/queues`);
    expect(response?.status()).toBe(200);
    for (const queue of ["ingest", EMBED_QUEUE, "generate.llama3.2~3Alatest"]) {
      await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    expect(await page.title()).toContain("Herd");
    // A queue's page lists its jobs (queue names are escaped so the UI can find them again).
    await page.goto(`${stack.url}/admin/queues/queue/${encodeURIComponent(EMBED_QUEUE)}?status=completed`);
    await page.getByText(jobId, { exact: true }).first().waitFor({ timeout: 15_000 });
    await page.getByText("by ollama-0").first().waitFor();
    await context.close();
  });

  it("is read-only: actions answer 405 and jobs show shortened data", async () => {
    const authorization = basic(USER, PASSWORD);
    const retry = await fetch(`${stack.url}/admin/queues/api/queues/${encodeURIComponent(EMBED_QUEUE)}/retry/failed`, { method: "PUT", headers: { authorization } });
    expect(retry.status).toBe(405);
    const listing = await fetch(`${stack.url}/admin/queues/api/queues?activeQueue=${encodeURIComponent(EMBED_QUEUE)}&status=completed&page=1&jobsPerPage=10`, { headers: { authorization } });
    expect(listing.status).toBe(200);
    const body = (await listing.json()) as { queues: Array<{ name: string; readOnlyMode: boolean; jobs: Array<{ data: { inputs: string[] } }> }> };
    const embed = body.queues.find((queue) => queue.name === EMBED_QUEUE);
    expect(embed?.readOnlyMode).toBe(true);
    expect(embed?.jobs[0]?.data.inputs[0]).toMatch(/… \(3303 characters\)$/);
  });

  it("shortens vectors and long texts in what it shows", () => {
    const vector = Array.from({ length: 768 }, (_, i) => i / 768);
    expect(shorten({ embeddings: [vector], text: "x".repeat(2500), small: [1, 2, 3] })).toEqual({
      embeddings: [[...vector.slice(0, 8), "… (768 numbers)"]],
      text: `${"x".repeat(2000)}… (2500 characters)`,
      small: [1, 2, 3],
    });
  });
});

describe("/admin/queues without HERD_ADMIN_PASSWORD", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("noadmin"), fleet: { instances: 1, preload: true } });
  });
  afterAll(() => stack?.close());

  it("answers 404 admin_disabled", async () => {
    const response = await stack.get("/admin/queues");
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("admin_disabled");
  });
});
