import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const entry = (app: string) => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));

describe("start-up configuration errors", () => {
  it("a worker without instances exits 2 naming HERD_INSTANCES", () => {
    const result = spawnSync(process.execPath, [entry("worker")], { env: { PATH: process.env["PATH"] }, encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("HERD_INSTANCES: at least one Ollama instance is required");
  });

  it("a worker with a malformed setting exits 2 naming it", () => {
    const result = spawnSync(process.execPath, [entry("worker")], {
      env: { PATH: process.env["PATH"], HERD_INSTANCES: "http://127.0.0.1:1", HERD_PROBE_INTERVAL: "often" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("HERD_PROBE_INTERVAL: expected a duration");
  });

  it("the API with a bad port exits 2 naming PORT", () => {
    const result = spawnSync(process.execPath, [entry("api")], { env: { PATH: process.env["PATH"], PORT: "99999" }, encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("PORT: must be between 0 and 65535");
  });
});
