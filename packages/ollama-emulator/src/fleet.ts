import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ADMIN_PREFIX, EmulatorInstance, type EmulatorOptions } from "./instance.js";
import { handleAdmin } from "./handlers/admin.js";
import { HttpError, parseJsonObject, readBody, sendError, sendJson } from "./http.js";

export interface FleetOptions extends Omit<EmulatorOptions, "numParallel" | "speed" | "name"> {
  instances: number;
  /** First port; instance i listens on basePort + i. 0 picks free ports. */
  basePort?: number;
  host?: string;
  /** Per-instance OLLAMA_NUM_PARALLEL, cycled when shorter than the fleet. */
  slots?: readonly number[];
  /** Per-instance speed factors, cycled when shorter than the fleet. */
  speeds?: readonly number[];
  /** Control server for all instances (reachable even while an instance refuses connections). */
  adminPort?: number;
}

function cycle<T>(values: readonly T[] | undefined, index: number, fallback: T): T {
  if (!values || values.length === 0) return fallback;
  return values[index % values.length] as T;
}

/** N emulated instances in one process, for tests and benchmarks. */
export class EmulatorFleet {
  readonly instances: EmulatorInstance[];
  #admin: Server | undefined;

  private constructor(instances: EmulatorInstance[]) {
    this.instances = instances;
  }

  static async start(options: FleetOptions): Promise<EmulatorFleet> {
    const instances: EmulatorInstance[] = [];
    const fleet = new EmulatorFleet(instances);
    try {
      for (let i = 0; i < options.instances; i += 1) {
        const instance = new EmulatorInstance({
          ...options,
          name: `ollama-${i}`,
          numParallel: cycle(options.slots, i, 1),
          speed: cycle(options.speeds, i, 1),
        });
        instances.push(instance);
        await instance.listen(options.basePort ? options.basePort + i : 0, options.host ?? "127.0.0.1");
      }
      if (options.adminPort !== undefined) await fleet.#startAdmin(options.adminPort, options.host ?? "127.0.0.1");
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  get urls(): string[] {
    return this.instances.map((instance) => instance.url);
  }

  get adminUrl(): string | undefined {
    const address = this.#admin?.address() as AddressInfo | undefined;
    return address ? `http://127.0.0.1:${address.port}` : undefined;
  }

  async #startAdmin(port: number, host: string): Promise<void> {
    const server = createServer((req, res) => {
      void (async () => {
        try {
          const path = new URL(req.url ?? "/", "http://localhost").pathname;
          if (path === "/instances" && req.method === "GET") {
            return sendJson(res, 200, this.instances.map((instance, index) => ({ index, name: instance.ctx.name, url: instance.url, listening: instance.listening })));
          }
          const match = /^\/instances\/(\d+)(\/.*)$/.exec(path);
          const instance = match ? this.instances[Number(match[1])] : undefined;
          if (!match || !instance) throw new HttpError(404, `unknown route ${path}`);
          const text = req.method === "GET" || req.method === "DELETE" ? "" : await readBody(req);
          const answer = await handleAdmin(
            { ctx: instance.ctx, port: () => instance.port, slots: () => instance.slots, setFault: (fault) => instance.setFault(fault) },
            req.method ?? "GET",
            (match[2] ?? "").replace(ADMIN_PREFIX, ""),
            text.trim() === "" ? undefined : parseJsonObject(text),
          );
          sendJson(res, 200, answer);
        } catch (error) {
          sendError(res, error instanceof HttpError ? error.status : 500, (error as Error).message);
        }
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.#admin = server;
  }

  async close(): Promise<void> {
    if (this.#admin) {
      const admin = this.#admin;
      this.#admin = undefined;
      await new Promise<void>((resolve) => admin.close(() => resolve()));
      admin.closeAllConnections();
    }
    await Promise.all(this.instances.map((instance) => instance.close()));
  }
}
