import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "@herd/testing";

/** The emulated fleet listens on consecutive ports. */
export { consecutiveFreePorts } from "@herd/testing";

export const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

export interface StartedHerd {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** Runs `herd start` with `env` (JSON logs at warn) and resolves once it printed `until` (its banner). */
export async function startHerdCli(env: Record<string, string>, options: { detached?: boolean; until?: string } = {}): Promise<StartedHerd> {
  const child = spawn(process.execPath, [CLI, "start"], {
    env: { PATH: process.env["PATH"], LOG_FORMAT: "json", LOG_LEVEL: "warn", ...env },
    detached: options.detached ?? false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const until = options.until ?? "Herd is running";
  await waitFor(() => output.includes(until), { timeoutMs: 60_000, message: `"${until}" in herd start's output` });
  return { child, output: () => output };
}

/**
 * For a test's teardown: a `herd start` still running gets SIGTERM and stops what it started (its
 * children run in process groups of their own, so killing it alone would leave them behind);
 * SIGKILL only if it has not exited after 30 s.
 */
export async function stopHerdCli(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}
