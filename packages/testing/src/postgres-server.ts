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

/** Server settings given as `-c name=value` at start, such as `{ shared_buffers: "1GB" }`. */
export type PostgresSettings = Record<string, string>;

/**
 * A private PostgreSQL server on its own port, for tests that restart Postgres mid-run and for
 * benchmarks that compare server settings (never the shared one). Uses the machine's PostgreSQL
 * binaries, so pgvector is there when installed.
 */
export class PostgresServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private settings: PostgresSettings,
  ) {}

  static available(): boolean {
    const bin = binDir();
    return bin !== undefined && existsSync(join(bin, "initdb")) && (process.getuid?.() !== 0 || spawnSync("id", ["postgres"]).status === 0);
  }

  static async start(settings: PostgresSettings = {}): Promise<PostgresServer> {
    const bin = binDir();
    if (!bin) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql");
    const dir = mkdtempSync(join(tmpdir(), "herd-pg-"));
    if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()), Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()));
    const server = new PostgresServer(dir, await freePort(), bin, settings);
    run(join(bin, "initdb"), ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
    server.restart();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the stopped server again; `settings` replace the ones it was started with. */
  restart(settings: PostgresSettings = this.settings): void {
    this.settings = settings;
    const options = Object.entries(settings).map(([name, value]) => {
      if (!/^[a-z_.]+$/.test(name) || !/^[\w.]+$/.test(value)) throw new Error(`not a server setting: ${name}=${value}`);
      return ` -c ${name}=${value}`;
    });
    run(join(this.bin, "pg_ctl"), ["-D", join(this.dir, "data"), "-o", `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off${options.join("")}`, "-l", join(this.dir, "log"), "-w", "start"]);
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
