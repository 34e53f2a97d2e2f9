import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "@herd/testing";
import { redisAnswers } from "../src/redis-check.js";
import { CLI, startHerdCli, stopHerdCli, type StartedHerd } from "./herd-start.js";

/** A typo in HERD_INSTANCES, or a GPU box still booting: herd start says which instance and why. */
describe("herd start with an Ollama instance that does not answer", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "herd-start-down-"));
  let started: StartedHerd | undefined;

  afterAll(async () => {
    await stopHerdCli(started?.child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("names the instance and its error while it waits, and stops cleanly on Ctrl+C", async () => {
    const deadPort = await freePort();
    const instanceUrl = `http://127.0.0.1:${deadPort}`;
    started = await startHerdCli(
      {
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        PORT: String(await freePort()),
        HERD_INSTANCES: instanceUrl,
        HERD_DATA_DIR: dataDir,
        HERD_PREFIX: "start-down",
        HERD_METRICS_PORT: "off",
      },
      { detached: true, until: "herd: not ready yet: no Ollama instance is healthy" },
    );
    const output = started.output;
    expect(output()).toMatch(new RegExp(`not ready yet: no Ollama instance is healthy: ${hostname().replace(/[^A-Za-z0-9._-]/g, "_")}-${deadPort} \\(${instanceUrl.replace(/\./g, "\\.")}\\): .*ECONNREFUSED`));
    // The worker said so itself, once, with the URL.
    const warnings = output().split("\n").filter((line) => line.includes("instance not answering"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(instanceUrl);
    expect(output()).not.toContain("Herd is running");

    const exited = new Promise<number | null>((resolve) => started?.child.once("exit", (code) => resolve(code)));
    process.kill(-(started.child.pid ?? 0), "SIGINT");
    expect(await exited).toBe(0);
    await waitFor(() => output().includes("SIGINT received, stopping"), { message: "the stop message" });
  }, 90_000);
});

describe("herd start when a port it needs is taken", () => {
  it("says which port and which setting moves it, and starts nothing", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const taken = (holder.address() as AddressInfo).port;
      const result = spawnSync(process.execPath, [CLI, "start"], {
        env: { PATH: process.env["PATH"], PORT: String(taken), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, HERD_METRICS_PORT: "off" },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`port ${taken} (the API, PORT) is already in use`);
      expect(result.stderr).toContain("Is another Herd running?");
      expect(result.stdout).not.toContain("Herd is running");
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe("herd start with a bad API or worker setting", () => {
  it("names every bad field once, exits 2, and starts nothing (not even Redis)", async () => {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const result = spawnSync(process.execPath, [CLI, "start"], {
      env: {
        PATH: process.env["PATH"],
        PORT: String(await freePort()),
        REDIS_URL: redisUrl,
        HERD_METRICS_PORT: "off",
        // Read by the API only, by the workers only, and by both.
        HERD_MODEL_OPTIONS: '{"llama3.2": {"temperature": 0}}',
        HERD_PROBE_INTERVAL: "soon",
        LOG_LEVEL: "loud",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    const issues = result.stderr.split("\n").filter((line) => line.startsWith("  "));
    expect(issues.map((line) => line.trim().split(":")[0]).sort()).toEqual(["HERD_MODEL_OPTIONS", "HERD_PROBE_INTERVAL", "LOG_LEVEL"]);
    expect(result.stdout).toBe("");
    expect(await redisAnswers(redisUrl)).toBe(false);
  });
});
