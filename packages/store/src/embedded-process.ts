import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { coerceError, type Logger } from "@herd/logger";

const EMBEDDED_MAIN = fileURLToPath(new URL("./embedded-main.js", import.meta.url));
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;
/** A server that ran this long before exiting is restarted at once again (not a crash loop). */
const STABLE_AFTER_MS = 60_000;

/** Starts the embedded server in its own process and resolves with its URL once it listens. */
export async function startEmbeddedProcess(dataDir: string, logger: Logger, timeoutMs = 60_000, port = 0): Promise<{ url: string; child: ChildProcess }> {
  // Its own process group: a Ctrl+C on the API's terminal must not stop the database under the
  // API's shutdown; close() stops it last, and it stops by itself when its stdin closes.
  const child = spawn(process.execPath, [EMBEDDED_MAIN, "--data-dir", dataDir, "--port", String(port)], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    logger.warn({ embedded: chunk.toString().trim() }, "embedded postgres");
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedded postgres did not start within ${timeoutMs}ms: ${output}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((entry) => entry.includes('"event":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded postgres exited (${code}): ${output}`));
    });
  });
  return { url, child };
}

/**
 * The embedded server for the lifetime of the API. Should it exit on its own (a crash, the OOM
 * killer, a stray kill), it is started again on the same port, so the pool's URL stays right and
 * requests meanwhile get 503 database_unavailable, not a database gone for good. Restarts back off
 * (0.25 s doubling to 30 s) while it keeps failing.
 */
export class EmbeddedProcess {
  #child: ChildProcess;
  #startedAt = Date.now();
  #delayMs = FIRST_RESTART_DELAY_MS;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;

  private constructor(
    readonly url: string,
    child: ChildProcess,
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    this.#child = child;
    this.#watch(child);
  }

  static async start(dataDir: string, logger: Logger): Promise<EmbeddedProcess> {
    const { url, child } = await startEmbeddedProcess(dataDir, logger);
    return new EmbeddedProcess(url, child, dataDir, logger);
  }

  #watch(child: ChildProcess): void {
    child.once("exit", (code, signal) => {
      if (this.#closing) return;
      if (Date.now() - this.#startedAt >= STABLE_AFTER_MS) this.#delayMs = FIRST_RESTART_DELAY_MS;
      this.logger.error({ code, signal, restartInMs: this.#delayMs }, "the embedded database exited unexpectedly; restarting it");
      this.#scheduleRestart();
    });
  }

  #scheduleRestart(): void {
    this.#timer = setTimeout(() => void this.#restart(), this.#delayMs);
    this.#delayMs = Math.min(MAX_RESTART_DELAY_MS, this.#delayMs * 2);
  }

  async #restart(): Promise<void> {
    if (this.#closing) return;
    try {
      const { child } = await startEmbeddedProcess(this.dataDir, this.logger, 60_000, Number(new URL(this.url).port));
      if (this.#closing) {
        child.kill("SIGTERM");
        return;
      }
      this.#child = child;
      this.#startedAt = Date.now();
      this.#watch(child);
      this.logger.info({ url: this.url }, "the embedded database is back");
    } catch (error) {
      this.logger.error({ err: coerceError(error), restartInMs: this.#delayMs }, "could not restart the embedded database; trying again");
      this.#scheduleRestart();
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}
