import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Router, type RequestHandler } from "express";
import basicAuth from "express-basic-auth";
import type { ApiConfig } from "@herd/config";
import type { FleetSnapshot } from "@herd/fleet";
import { INGEST_QUEUE, queueName } from "@herd/jobs";
import { ADMIN_PATH } from "./metrics.js";
import type { QueueRegistry } from "./queues.js";

const MAX_NUMBERS = 8;
const MAX_STRING = 2000;

/** Shortens what the UI would show in full: vectors (hundreds of numbers) and very long texts. */
export function shorten(value: unknown): unknown {
  if (typeof value === "string") return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
  if (Array.isArray(value)) {
    if (value.length > MAX_NUMBERS && value.every((item) => typeof item === "number")) return [...value.slice(0, MAX_NUMBERS), `… (${value.length} numbers)`];
    return value.map(shorten);
  }
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shorten(item)]));
  return value;
}

/**
 * Bull Board at /admin/queues behind HTTP basic auth (a browser shows its login prompt), with
 * every queue Herd uses: the ingest queue (flow parents) and, as the fleet serves them, each
 * model's embed and generate queues (flow children). Read-only unless HERD_ADMIN_WRITE is set.
 * Without HERD_ADMIN_PASSWORD the path answers 404 admin_disabled.
 */
export class AdminBoard {
  readonly router: Router;
  readonly #added = new Set<string>();
  readonly #board: ReturnType<typeof createBullBoard> | undefined;

  constructor(
    private readonly config: ApiConfig["admin"],
    private readonly queues: QueueRegistry,
  ) {
    this.router = Router();
    const password = config.password;
    if (!password) {
      const disabled: RequestHandler = (_req, res) => {
        res.status(404).json({ error: { code: "admin_disabled", message: "the admin UI is off; set HERD_ADMIN_PASSWORD to turn it on" } });
      };
      this.router.use(ADMIN_PATH, disabled);
      return;
    }
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(ADMIN_PATH);
    this.#board = createBullBoard({
      queues: [],
      serverAdapter,
      options: { uiConfig: { boardTitle: "Herd", pollingInterval: { forceInterval: 5000 } } },
    });
    const auth = basicAuth({
      users: { [config.user]: password },
      challenge: true,
      realm: "Herd admin",
      unauthorizedResponse: () => ({ error: { code: "unauthorized", message: "admin credentials required (HTTP basic auth)" } }),
    });
    this.router.use(ADMIN_PATH, auth, serverAdapter.getRouter() as RequestHandler);
    this.add(INGEST_QUEUE, "Document ingestion: one flow per document (parse → embed children → store)");
  }

  get enabled(): boolean {
    return this.#board !== undefined;
  }

  /** Registers the queues of models the fleet serves (called on every fleet refresh). */
  sync(snapshot: FleetSnapshot): void {
    for (const served of snapshot.models.values()) {
      for (const kind of served.kinds) this.add(queueName(kind, served.model), `${kind} jobs for ${served.model}`);
    }
  }

  add(name: string, description: string): void {
    if (!this.#board || this.#added.has(name)) return;
    this.#added.add(name);
    const adapter = new BullMQAdapter(this.queues.queue(name), {
      readOnlyMode: !this.config.write,
      allowRetries: this.config.write,
      description,
    });
    for (const field of ["data", "returnValue", "progress"] as const) adapter.setFormatter(field, shorten);
    this.#board.addQueue(adapter);
  }
}
