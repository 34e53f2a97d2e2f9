import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

/** The compiled entry point of one of Herd's apps (`npm run build` first); same path from src/ and dist/. */
function entry(app: "api" | "worker"): string {
  return fileURLToPath(new URL(`../../../apps/${app}/dist/main.js`, import.meta.url));
}

export interface Member {
  readonly name: string;
  readonly kind: "api" | "worker";
  readonly child: ChildProcess;
  /** The API's base URL (APIs only). */
  readonly url: string | undefined;
}

/**
 * Herd's API and worker processes, started the way an operator starts them (`node dist/main.js`
 * with environment variables), so a scenario can kill -9 or SIGTERM any of them mid-load.
 */
export class HerdCluster {
  readonly members: Member[] = [];
  output = "";

  /** `env` is the whole environment of every process (PATH included): nothing is inherited. */
  constructor(private readonly env: Record<string, string>) {}

  #spawn(kind: "api" | "worker", name: string, extra: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [entry(kind)], {
      env: { LOG_LEVEL: "info", LOG_FORMAT: "json", HERD_AUTH: "open", ...this.env, ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.output += chunk
        .toString()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => `[${name}] ${line}\n`)
        .join("");
      // Enough to explain a failure; a chatty process must not grow the test's memory without bound.
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    return child;
  }

  /** A worker bound to `instances` (HERD_INSTANCES syntax). */
  startWorker(name: string, instances: string, extra: Record<string, string> = {}): Member {
    const member = { name, kind: "worker" as const, child: this.#spawn("worker", name, { HERD_INSTANCES: instances, HERD_WORKER_ID: name, HERD_METRICS_PORT: "0", ...extra }), url: undefined };
    this.members.push(member);
    return member;
  }

  /**
   * An API process, once /ready answers 200 (Redis up and a healthy instance), on `port` (a
   * restarted API keeps its address) or a free one.
   */
  async startApi(name: string, extra: Record<string, string> = {}, port?: number): Promise<Member> {
    port ??= await freePort();
    const url = `http://127.0.0.1:${port}`;
    const member = { name, kind: "api" as const, child: this.#spawn("api", name, { PORT: String(port), ...extra }), url };
    this.members.push(member);
    // What the last poll saw, for the failure message: not listening yet, or /ready's own answer.
    let lastSeen = "no answer yet";
    try {
      await waitFor(
        async () => {
          const response = await fetch(`${url}/ready`).catch((error: unknown) => {
            // fetch's own message is "fetch failed"; the connection error is its cause.
            lastSeen = `no answer: ${String((error as Error).cause ?? error)}`;
            return undefined;
          });
          if (!response) return false;
          lastSeen = `${response.status} ${await response.text()}`;
          return response.status === 200;
        },
        { timeoutMs: 60_000, message: `API ${name} at ${url} to be ready` },
      );
    } catch (error) {
      const exited = member.child.exitCode !== null || member.child.signalCode !== null ? `exited (code ${member.child.exitCode}, signal ${member.child.signalCode})` : "still running";
      throw new Error(`${(error as Error).message}; the process is ${exited}; last /ready poll: ${lastSeen}\nprocess output:\n${this.output.slice(-4000) || "(none)"}`, { cause: error });
    }
    return member;
  }

  /**
   * Sends `signal` and resolves once the process has exited, with how long that took and its exit
   * code (null when a signal ended it).
   */
  static async stop(member: Pick<Member, "child">, signal: NodeJS.Signals): Promise<{ exitMs: number; code: number | null; signal: NodeJS.Signals | null }> {
    const child = member.child;
    const started = performance.now();
    if (child.exitCode !== null || child.signalCode !== null) return { exitMs: 0, code: child.exitCode, signal: child.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, sig) => resolve({ code, signal: sig })));
    child.kill(signal);
    const result = await exited;
    return { exitMs: performance.now() - started, ...result };
  }

  /** Stops every process still running: SIGTERM, then SIGKILL after 15 s. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.members].reverse().map(async (member) => {
        const timer = setTimeout(() => member.child.kill("SIGKILL"), 15_000);
        try {
          await HerdCluster.stop(member, "SIGTERM");
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
