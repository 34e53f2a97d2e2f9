import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createLogger, warnAtMostEvery } from "../src/index.js";

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

  it("logs a Redis error's command with its arguments cut short (not a whole Lua script)", () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "herd-worker", level: "info", format: "json", destination: { write: (line: string) => lines.push(line) } });
    const script = `--[[ Move next job to be processed to active ]]\n${"local x = 1\n".repeat(1000)}`;
    const error = Object.assign(new Error("MOVED 11923 127.0.0.1:7003"), {
      command: { name: "eval", args: [script, "11", Buffer.alloc(90), ...Array.from({ length: 14 }, (_, i) => `{herd}:embed.q:key${i}`)] },
      previousErrors: [{ message: "MOVED 1 x", command: { name: "set", args: ["{herd}:fleet:worker:w1", "y".repeat(5000), "PX", 6000] } }],
    });
    logger.warn({ err: error }, "fetching jobs failed; retrying");
    const [line] = lines;
    const entry = JSON.parse(line ?? "");
    expect(entry.err.message).toBe("MOVED 11923 127.0.0.1:7003");
    expect(entry.err.stack).toContain("MOVED 11923");
    expect(entry.err.command.name).toBe("eval");
    expect(entry.err.command.args[0]).toMatch(new RegExp(`^--\\[\\[ Move next job.*… \\(${script.length} chars\\)$`, "s"));
    expect(entry.err.command.args.slice(1, 4)).toEqual(["11", "<90 bytes>", "{herd}:embed.q:key0"]);
    expect(entry.err.command.args).toHaveLength(12);
    expect(entry.err.command.moreArgs).toBe(5);
    expect(entry.err.previousErrors).toEqual([{ message: "MOVED 1 x", command: { name: "set", args: ["{herd}:fleet:worker:w1", expect.stringContaining("… (5000 chars)"), "PX", 6000] } }]);
    expect(line?.length).toBeLessThan(3000);
  });
  it("names the objects a library hangs on its errors instead of dumping them", () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "herd-api", level: "info", format: "json", destination: { write: (line: string) => lines.push(line) } });
    class Client {
      readonly connectionParameters = { user: "postgres", password: "secret", host: "127.0.0.1" };
      readonly queue = Array.from({ length: 500 }, (_, i) => ({ text: `select ${i}` }));
    }
    const error = Object.assign(new Error("Connection terminated unexpectedly"), { client: new Client(), code: "ECONNRESET", details: { served: ["a"] }, at: new Date(0), cause: new Error("socket hang up") });
    logger.warn({ err: error }, "idle postgres connection failed");
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry.err.client).toBe("[Client]");
    expect(entry.err.code).toBe("ECONNRESET");
    expect(entry.err.details).toEqual({ served: ["a"] });
    expect(entry.err.at).toBe("1970-01-01T00:00:00.000Z");
    expect(JSON.stringify(entry.err)).toContain("socket hang up");
    expect(lines[0]).not.toContain("secret");
    expect(lines[0]?.length).toBeLessThan(3000);
  });
  it("warns about an error repeated on every retry at most once per interval, the others at debug", () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = createLogger({ name: "herd-api", level: "debug", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) } });
    const warn = warnAtMostEvery(logger, 60_000);
    for (let i = 0; i < 5; i += 1) warn({ err: new Error("connect ECONNREFUSED 127.0.0.1:6379") }, "queue error");
    expect(lines.map((line) => [line.level, line.msg])).toEqual([[40, "queue error"], ...Array.from({ length: 4 }, () => [20, "queue error"])]);
  });
});
