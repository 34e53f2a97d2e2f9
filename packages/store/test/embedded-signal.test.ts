import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "@herd/logger";
import { waitFor } from "@herd/testing";
// The embedded server runs dist/embedded-main.js: the compiled package, as the API uses it.
import { dataDirOwner, openDatabase } from "../dist/index.js";

const STORE = new URL("../dist/index.js", import.meta.url).href;
const LOGGER = new URL("../../logger/dist/index.js", import.meta.url).href;

/**
 * The API runs the embedded database as a child. Ctrl+C on the API's terminal signals the whole
 * process group; the database must outlive the API's shutdown (which may still write), and stop
 * when the API closes it.
 */
describe("embedded database that exits on its own", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "herd-embedded-crash-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("is started again on the same URL, with what was committed, and says so in the log", async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "embedded-crash", level: "info", format: "json", destination: { write: (line: string) => lines.push(line) } });
    const db = await openDatabase({ url: undefined, embeddedDataDir: dataDir, poolMax: 1, logger });
    try {
      await db.pool.query("CREATE TABLE readings (value int)");
      await db.pool.query("INSERT INTO readings VALUES (42)");
      const first = dataDirOwner(join(dataDir));
      expect(first).toBeDefined();
      process.kill(first ?? 0, "SIGKILL");
      const rows = await waitFor(async () => {
        try {
          return (await db.pool.query<{ value: number }>("SELECT value FROM readings")).rows;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 60_000, message: "the embedded database to answer again" });
      expect(rows).toEqual([{ value: 42 }]);
      expect(dataDirOwner(dataDir)).not.toBe(first);
      expect(lines.some((line) => line.includes("exited unexpectedly; restarting it") && line.includes('"signal":"SIGKILL"'))).toBe(true);
      expect(lines.some((line) => line.includes("the embedded database is back"))).toBe(true);
    } finally {
      await db.close();
    }
    expect(dataDirOwner(dataDir)).toBeUndefined();
  }, 90_000);
});

describe("embedded database under Ctrl+C", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "herd-embedded-signal-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("keeps serving the parent's shutdown, then stops when the parent closes it", async () => {
    const script = `
      import { openDatabase } from ${JSON.stringify(STORE)};
      import { createLogger } from ${JSON.stringify(LOGGER)};
      const logger = createLogger({ name: "t", level: "warn", format: "json" });
      const db = await openDatabase({ url: undefined, embeddedDataDir: ${JSON.stringify(dataDir)}, poolMax: 1, logger });
      await db.pool.query("select 1");
      process.once("SIGINT", () => {
        // Shutdown work that takes a while (the API drains requests before closing the pool).
        setTimeout(async () => {
          try {
            const { rows } = await db.pool.query("select 41 + 1 as n");
            console.log("shutdown query " + rows[0].n);
            await db.close();
            console.log("closed");
            process.exit(0);
          } catch (error) {
            console.log("shutdown failed: " + error.message);
            process.exit(1);
          }
        }, 300);
      });
      // Only now: the test sends SIGINT as soon as it reads this, and without a handler yet
      // SIGINT kills (a fresh-clone CI run on a loaded machine saw exactly that).
      console.log("test-child-ready");
    `;
    // Its own process group, as a terminal's foreground job: the test plays the terminal.
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      // Its own marker: the embedded server's log lines (relayed as warnings) may say "ready" too,
      // before this script has its SIGINT handler.
      await waitFor(() => output.includes("test-child-ready"), { timeoutMs: 60_000, message: "the embedded database" });
      const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(`code ${code}, signal ${signal}`)));
      process.kill(-(child.pid ?? 0), "SIGINT");
      expect(await exited, output).toBe("code 0, signal null");
      expect(output).toContain("shutdown query 42");
      expect(output).toContain("closed");
      expect(output).not.toContain("idle postgres connection failed");
    } finally {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }
  }, 90_000);
});
