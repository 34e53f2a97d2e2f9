import type { InstanceContext } from "../context.js";
import { FaultSpec } from "../faults.js";
import { HttpError } from "../http.js";

export interface AdminTarget {
  ctx: InstanceContext;
  port: () => number;
  slots: () => number;
  setFault: (fault: FaultSpec) => Promise<void>;
}

/** Admin routes, outside Ollama's namespace: counters and fault injection. */
export async function handleAdmin(target: AdminTarget, method: string, path: string, body: Record<string, unknown> | undefined): Promise<unknown> {
  const { ctx } = target;
  if (path === "/stats" && method === "GET") {
    return {
      instance: { name: ctx.name, port: target.port(), speed: ctx.speed, slots: target.slots() },
      fault: ctx.faults.spec,
      loaded: [...ctx.scheduler.runners.keys()],
      ...ctx.stats.snapshot(),
    };
  }
  if (path === "/reset" && method === "POST") {
    ctx.stats.reset();
    return { ok: true };
  }
  if (path === "/fault" && method === "GET") return ctx.faults.spec;
  if (path === "/fault" && method === "DELETE") {
    await target.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    return ctx.faults.spec;
  }
  if (path === "/fault" && (method === "POST" || method === "PUT")) {
    const parsed = FaultSpec.safeParse(body ?? {});
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
    await target.setFault(parsed.data);
    return ctx.faults.spec;
  }
  throw new HttpError(404, `unknown admin route ${method} ${path}`);
}
