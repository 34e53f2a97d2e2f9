import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const LOGGER = new URL("../dist/index.js", import.meta.url).href;

/** Logs one line from a child process whose stdout is a pipe, telling the logger it is (or is not) a terminal. */
function logFrom(isTerminal: boolean, format: "auto" | "json"): Promise<string> {
  const script = `
    import { createLogger } from ${JSON.stringify(LOGGER)};
    const logger = createLogger({ name: "herd-worker", level: "info", format: ${JSON.stringify(format)}, isTerminal: ${isTerminal} });
    logger.info({ jobId: "embed.x.1", queue: "embed.q", instance: "gpu-1", durationMs: 12 }, "job completed");
    logger.flush?.();
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

describe("logger", () => {
  it("writes one JSON object per line when the output is not a terminal", async () => {
    const [line, ...rest] = (await logFrom(false, "auto")).trim().split("\n");
    expect(rest).toEqual([]);
    expect(JSON.parse(line ?? "")).toMatchObject({ level: 30, service: "herd-worker", jobId: "embed.x.1", queue: "embed.q", instance: "gpu-1", durationMs: 12, msg: "job completed" });
  });

  it("prints readable lines on a terminal", async () => {
    // eslint-disable-next-line no-control-regex -- colours are part of what a terminal gets
    const output = (await logFrom(true, "auto")).replace(/\u001b\[[0-9;]*m/g, "");
    expect(() => JSON.parse(output.trim())).toThrow();
    expect(output).toContain("INFO");
    expect(output).toContain("job completed");
    expect(output).toMatch(/jobId: "embed\.x\.1"/);
  });

  it("keeps JSON on a terminal when asked to", async () => {
    expect(JSON.parse((await logFrom(true, "json")).trim())).toMatchObject({ msg: "job completed" });
  });
});
