import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(a) - Number(b)).at(-1);
  return version ? join(root, version, "bin") : undefined;
}

/** initdb refuses to run as root; as root, the server runs as the `postgres` system user. */
function run(command: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const result = asRoot ? spawnSync("runuser", ["-u", "postgres", "--", command, ...args], { encoding: "utf8" }) : spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
}

/**
 * A private PostgreSQL server on its own port, for tests that restart Postgres mid-run (never
 * the shared one). Uses the machine's PostgreSQL binaries, so pgvector is there when installed.
 */
export class PostgresServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  static available(): boolean {
    const bin = binDir();
    return bin !== undefined && existsSync(join(bin, "initdb")) && (process.getuid?.() !== 0 || spawnSync("id", ["postgres"]).status === 0);
  }

  static async start(): Promise<PostgresServer> {
    const bin = binDir();
    if (!bin) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql");
    const dir = mkdtempSync(join(tmpdir(), "herd-pg-"));
    if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()), Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()));
    const server = new PostgresServer(dir, await freePort(), bin);
    run(join(bin, "initdb"), ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
    server.restart();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  restart(): void {
    run(join(this.bin, "pg_ctl"), ["-D", join(this.dir, "data"), "-o", `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "-l", join(this.dir, "log"), "-w", "start"]);
  }

  /** Stops at once (fast shutdown: open connections are cut). */
  stop(): void {
    run(join(this.bin, "pg_ctl"), ["-D", join(this.dir, "data"), "-m", "fast", "-w", "stop"]);
  }

  close(): void {
    try {
      this.stop();
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
