import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelStats } from "@herd/ollama-emulator";

export const appEntry = (app: string) => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));
export const emulatorEntry = () => fileURLToPath(new URL("./cli.js", import.meta.resolve("@herd/ollama-emulator")));
export const helloEntry = () => fileURLToPath(new URL("./hello-server.js", import.meta.url));

let childBaseEnv: Record<string, string | undefined> = {};

/** The environment every child starts from (main.ts passes PATH through). */
export function setChildBaseEnv(env: Record<string, string | undefined>): void {
  childBaseEnv = env;
}

/** A child process the benchmark started; `stop()` sends SIGTERM and waits. */
export class Proc {
  output = "";

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static start(name: string, command: string, args: string[], env: Record<string, string | undefined> = {}): Proc {
    return new Proc(name, spawn(command, args, { env: { ...childBaseEnv, ...env }, stdio: ["ignore", "pipe", "pipe"] }));
  }

  async waitForOutput(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(text)) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}):\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print "${text}" in ${timeoutMs}ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls `url` until `ok`; fails at once when one of `serving` (the processes behind it) has exited. */
export async function waitHttp(url: string, ok: (status: number, body: string) => boolean = (status) => status === 200, timeoutMs = 30_000, serving: readonly Proc[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = serving.find((proc) => proc.child.exitCode !== null || proc.child.signalCode !== null);
    if (gone) throw new Error(`${gone.name} exited (code ${gone.child.exitCode}, signal ${gone.child.signalCode}) before ${url} was ready`);
    try {
      const response = await fetch(url);
      if (ok(response.status, await response.text())) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface EmulatorProcess {
  proc: Proc;
  urls: string[];
  admin: string;
}

/** Each emulated instance's counters per model, from the emulator's admin server. */
export async function emulatorStats(emulator: EmulatorProcess): Promise<Array<{ models: Record<string, ModelStats> }>> {
  return Promise.all(emulator.urls.map(async (_, i) => (await (await fetch(`${emulator.admin}/instances/${i}/stats`)).json()) as { models: Record<string, ModelStats> }));
}

/** Zeroes every emulated instance's counters (before a measured run). */
export async function resetEmulatorStats(emulator: EmulatorProcess): Promise<void> {
  await Promise.all(emulator.urls.map((_, i) => fetch(`${emulator.admin}/instances/${i}/reset`, { method: "POST" })));
}

export async function startEmulator(args: string[]): Promise<EmulatorProcess> {
  const proc = Proc.start("emulator", process.execPath, [emulatorEntry(), "--base-port", "0", "--admin-port", "0", "--preload", ...args]);
  await proc.waitForOutput('"event":"ready"');
  const line = proc.output.split("\n").find((entry) => entry.includes('"event":"ready"')) ?? "{}";
  const ready = JSON.parse(line) as { urls: string[]; admin: string };
  return { proc, urls: ready.urls, admin: ready.admin };
}

export function nginxAvailable(): boolean {
  return spawnSync("sh", ["-c", "command -v nginx"], { stdio: "ignore" }).status === 0;
}

export function nginxVersion(): string | undefined {
  const result = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  return result.status === 0 ? result.stderr.trim().replace(/^nginx version: /, "") : undefined;
}

/** nginx in front of the instances, least_conn or round-robin, with upstream keep-alive. */
export async function startNginx(mode: "least_conn" | "round_robin", upstreams: string[], port: number): Promise<{ proc: Proc; url: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "herd-nginx-"));
  const servers = upstreams.map((url) => `    server ${new URL(url).host};`).join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;
error_log stderr warn;
pid ${join(dir, "nginx.pid")};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  upstream ollama {
${mode === "least_conn" ? "    least_conn;\n" : ""}${servers}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ollama;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 600s;
      proxy_buffering off;
    }
  }
}
`,
  );
  const proc = Proc.start(`nginx-${mode}`, "nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/`, undefined, undefined, [proc]);
  return { proc, url, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
