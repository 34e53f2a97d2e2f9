import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INGEST_QUEUE } from "@herd/jobs";
import { makeDocx, makePdf, makePptx, makeXlsx, pumpManualDoc, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const CLI = fileURLToPath(new URL("../../cli/dist/main.js", import.meta.url));
const CORPUS = fileURLToPath(new URL("../../../corpus/manuals", import.meta.url));

interface HerdRun {
  child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Its exit code and everything it printed. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts the CLI, collecting what it prints. */
function startHerd(args: string[], env: Record<string, string> = {}): HerdRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
  return { child, output: () => ({ stdout, stderr }), exited };
}

function herd(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startHerd(args, env).exited;
}

describe("herd ingest (CLI)", () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("cli"), fleet: { instances: 2, preload: true, latency: { evalTokenMs: 1 } } });
    dir = mkdtempSync(join(tmpdir(), "herd-cli-"));
    mkdirSync(join(dir, "guides"));
    writeFileSync(join(dir, "guides", "oil.md"), "# Oil\n\nUse ISO VG 46 oil.");
    // Its second page has no text (as a scanned page): stored, with a warning.
    writeFileSync(join(dir, "scan.pdf"), makePdf([["Inspect the hoses monthly."], []]));
    writeFileSync(join(dir, "broken.pdf"), "%PDF-1.4 this file was cut short");
    writeFileSync(join(dir, ".hidden"), "ignored");
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ingests a folder with --wait, prints a progress bar and a summary, exits 0", async () => {
    const result = await herd(["ingest", CORPUS, "--collection", "press", "--model", "nomic-embed-text", "--wait"], { HERD_URL: stack.url });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("created collection press");
    expect(result.stdout).toMatch(/ingesting \[.*\] 26\/26 documents/);
    expect(result.stdout).toMatch(/documents\s*│\s*26\s*│\s*26\s*│\s*0/);
    const found = await stack.post("/v1/collections/press/search", { query: "relief valve", k: 1 });
    expect(found.body.results).toHaveLength(1);
  });

  it("herd ask prints the answer as it is written, then its sources; refusals exit 2 with the reason", async () => {
    const result = await herd(["ask", "How do I bleed air from the hydraulic pump?", "--collection", "press", "--model", "llama3.2", "--k", "3", "--url", stack.url], {});
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [answer, sources] = result.stdout.split("\n\nSources:\n");
    expect(answer).toContain("Bleed the pump before the first start");
    expect(sources?.trim().split("\n")).toHaveLength(3);
    expect(sources).toMatch(/^\[1\] bleeding-the-pump\.md \(Bleeding the hydraulic pump\): Air trapped in the hydraulic pump/);
    const unknown = await herd(["ask", "Why?", "--collection", "nope", "--model", "llama3.2", "--url", stack.url], {});
    expect(unknown).toMatchObject({ code: 2, stderr: 'herd: no collection named "nope"\n' });
    const usage = await herd(["ask", "--collection", "press", "--model", "llama3.2"], {});
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("herd ask: a question is required");
    // --filter: only documents whose metadata matches (none here), and it must be a JSON object.
    const filtered = await herd(["ask", "How do I bleed the pump?", "--collection", "press", "--model", "llama3.2", "--filter", '{"product":"none"}', "--url", stack.url], {});
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).toMatch(/\n\nSources: none \(no chunk of the collection matched\)\n$/);
    const badFilter = await herd(["ask", "Why?", "--collection", "press", "--model", "llama3.2", "--filter", "[1]", "--url", stack.url], {});
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toContain("herd ask: --filter must be a JSON object");
  });

  it("herd ask counts the sources that matched but did not fit the model's context", async () => {
    await stack.post("/v1/collections", { name: "presses", model: "nomic-embed-text" });
    const manual = (n: number) => `# Press ${n}\n\n${Array.from({ length: 6 }, (_, i) => `The hydraulic pump of press ${n} is inspected every ${n + i} weeks and its filter is cleaned after ${(n + i) * 10} hours of running.`).join(" ")}`;
    const accepted = await stack.post("/v1/collections/presses/documents", { documents: Array.from({ length: 40 }, (_, n) => ({ id: `press-${n}.md`, text: manual(n) })) });
    await waitFor(async () => (await stack.get(`/v1/ingestions/${accepted.body.ingestionId}`)).body.status === "completed" || undefined, { message: "ingestion", timeoutMs: 30_000 });
    const result = await herd(["ask", "How often is the hydraulic pump inspected?", "--collection", "presses", "--model", "llama3.2", "--k", "40", "--url", stack.url], {});
    expect(result.code).toBe(0);
    const listed = result.stdout.split("\n\nSources:\n")[1]?.trim().split("\n") ?? [];
    const omitted = Number(/\((\d+) more matched but did not fit the model's context: ask with a smaller --k, or give the model a larger num_ctx\)$/.exec(listed.pop() ?? "")?.[1]);
    expect(omitted).toBeGreaterThan(0);
    expect(listed.length + omitted).toBe(40);
  });

  it("Ctrl-C in herd ask stops the answer: exit 130, and Herd cancels the generation and frees its slot", async () => {
    const canceledBefore = (await stack.generationStopped("llama3.2:latest")) ?? 0;
    for (const instance of stack.fleet.instances) await instance.setFault({ mode: "slow", rate: 1, factor: 50, status: 500, scope: "inference" });
    try {
      const run = startHerd(["ask", "Explain the hydraulic pump at length, please.", "--collection", "press", "--model", "llama3.2", "--url", stack.url]);
      await waitFor(() => run.output().stdout.length > 0, { message: "herd ask printed the start of the answer" });
      run.child.kill("SIGINT");
      const result = await run.exited;
      expect(result).toMatchObject({ code: 130, stderr: "" });
      expect(result.stdout).not.toContain("Sources:");
      expect(await stack.generationStopped("llama3.2:latest")).toBe(canceledBefore + 1);
    } finally {
      for (const instance of stack.fleet.instances) await instance.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });

  it("reports failed documents in a table and exits 1, and documents stored in part in another; paths become document ids", async () => {
    const result = await herd(["ingest", dir, "--collection", "mixed", "--model", "nomic-embed-text", "--wait", "--url", stack.url], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("uploaded 3 files");
    expect(result.stdout).toContain("broken.pdf");
    expect(result.stdout).toMatch(/PDF/);
    // Stored in part: said in a table of its own, not counted as a failure.
    expect(result.stdout).toMatch(/stored in part[^\n]*what could not be read[\s\S]*scan\.pdf[^\n]*page 2 of 2 has no text/);
    const found = await stack.post("/v1/collections/mixed/search", { query: "ISO VG 46 oil", k: 1 });
    expect(found.body.results[0].documentId).toBe("guides/oil.md");
  });

  it("ingests Word documents (.docx and .doc), CSV tables, Excel workbooks and PowerPoint decks by their extension: Word headings and slide titles kept as sections, table rows with their column names", async () => {
    const word = mkdtempSync(join(tmpdir(), "herd-cli-word-"));
    try {
      writeFileSync(join(word, "parts.xlsx"), await makeXlsx([{ name: "Spare parts", rows: [["Part", "Number", "Qty"], ["Impeller seal kit", "HX-4471", 1]] }]));
      writeFileSync(join(word, "codes.csv"), "Code,Fault,Remedy\nE-411,Grease pump cycle incomplete,Refill the grease cartridge\nE-401,Oil level low,Top up the reservoir\n");
      writeFileSync(join(word, "hoses.docx"), await makeDocx([{ heading: 1, text: "Hoses" }, { text: "Replace a cracked hydraulic hose at once." }, { heading: 1, text: "Filters" }, { text: "Clean the suction strainer monthly." }]));
      writeFileSync(join(word, "legacy.doc"), pumpManualDoc());
      writeFileSync(join(word, "training.pptx"), await makePptx([{ title: "Seal replacement", bullets: ["Drain the pump housing first"], notes: "Show the worn lip seal." }]));
      const result = await herd(["ingest", word, "--collection", "word", "--model", "nomic-embed-text", "--wait", "--url", stack.url], {});
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const found = await stack.post("/v1/collections/word/search", { query: "cracked hose", k: 1, mode: "keyword" });
      // Two small sections share one chunk, each under its own heading line.
      expect(found.body.results[0]).toMatchObject({ documentId: "hoses.docx", text: "Hoses\n\nReplace a cracked hydraulic hose at once.\n\nFilters\n\nClean the suction strainer monthly." });
      const code = await stack.post("/v1/collections/word/search", { query: "E-411", k: 1, mode: "keyword" });
      expect(code.body.results[0]).toMatchObject({ documentId: "codes.csv", text: expect.stringContaining("Code: E-411; Fault: Grease pump cycle incomplete; Remedy: Refill the grease cartridge") });
      const part = await stack.post("/v1/collections/word/search", { query: "HX-4471", k: 1, mode: "keyword" });
      expect(part.body.results[0]).toMatchObject({ documentId: "parts.xlsx", heading: "Spare parts", text: "Part: Impeller seal kit; Number: HX-4471; Qty: 1" });
      const legacy = await stack.post("/v1/collections/word/search", { query: "filler cap", k: 1, mode: "keyword" });
      expect(legacy.body.results[0]).toMatchObject({ documentId: "legacy.doc", text: expect.stringContaining("Bolt  Torque\nM8  25 Nm\nM10  40 Nm") });
      const slide = await stack.post("/v1/collections/word/search", { query: "worn lip seal", k: 1, mode: "keyword" });
      expect(slide.body.results[0]).toMatchObject({ documentId: "training.pptx", heading: "Seal replacement", text: "Drain the pump housing first\n\nNotes: Show the worn lip seal." });
      const document = await stack.get("/v1/collections/word/documents/hoses.docx");
      expect(document.body).toMatchObject({ status: "ready", mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document" });
    } finally {
      rmSync(word, { recursive: true, force: true });
    }
  });

  it("reads legacy-encoded text files with --fallback-charset, leaving the UTF-8 ones as they are", async () => {
    const legacy = mkdtempSync(join(tmpdir(), "herd-cli-legacy-"));
    try {
      writeFileSync(join(legacy, "alt.txt"), Buffer.from("Entlüftung der Pumpe vor dem ersten Start.", "latin1"));
      writeFileSync(join(legacy, "neu.md"), "# Größe\n\nDrehmoment 40 Nm für die Flanschschrauben.");
      const plain = await herd(["ingest", legacy, "--collection", "legacy", "--model", "nomic-embed-text", "--language", "german", "--wait", "--url", stack.url], {});
      expect(plain.code).toBe(1);
      expect(plain.stdout).toContain("created collection legacy (nomic-embed-text:latest, german)");
      expect(plain.stdout).toContain("alt.txt");
      expect(plain.stdout).toMatch(/not valid UTF-8/);
      // The same model however written is no mismatch; another model or language is, and is said.
      const declared = await herd(["ingest", legacy, "--collection", "legacy", "--model", "NOMIC-embed-text", "--fallback-charset", "windows-1252", "--wait", "--url", stack.url], {});
      expect(declared.stderr).toBe("");
      expect(declared.code).toBe(0);
      const mismatched = await herd(["ingest", legacy, "--collection", "legacy", "--model", "all-minilm", "--language", "french", "--url", stack.url], {});
      expect(mismatched.code).toBe(0);
      expect(mismatched.stderr).toContain('collection "legacy" exists with model nomic-embed-text:latest; --model all-minilm applies only when creating one');
      expect(mismatched.stderr).toContain('collection "legacy" exists with language german; --language french applies only when creating one');
      // German stemming: "Pumpen" finds "Pumpe".
      const found = await stack.post("/v1/collections/legacy/search", { query: "Pumpen", k: 1, mode: "keyword" });
      expect(found.body.results[0]).toMatchObject({ documentId: "alt.txt", text: "Entlüftung der Pumpe vor dem ersten Start." });
      const modern = await stack.post("/v1/collections/legacy/search", { query: "Drehmoment Flanschschrauben", k: 1, mode: "keyword" });
      expect(modern.body.results[0]).toMatchObject({ documentId: "neu.md", text: "Drehmoment 40 Nm für die Flanschschrauben." });
    } finally {
      rmSync(legacy, { recursive: true, force: true });
    }
  });

  it("ends quietly (status 141) when its reader closes the pipe, as `| head` does", async () => {
    // With the ingest worker paused the ingestion stays running, so the progress bar keeps drawing.
    await stack.api.ingest.worker.pause();
    try {
      const child = spawn(process.execPath, [CLI, "ingest", dir, "--collection", "piped", "--model", "nomic-embed-text", "--wait", "--url", stack.url], { env: { PATH: process.env["PATH"] ?? "" } });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      // Like `head -1`: read the first output, then close the pipe.
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      child.stdout.destroy();
      expect(await exited).toBe(141);
      expect(stderr).toBe("");
    } finally {
      stack.api.ingest.worker.resume();
    }
  });

  it("counts documents deleted while it waits as superseded, in a column of their own", async () => {
    // Paused, the ingest worker leaves every document pending until the collection is gone.
    await stack.api.ingest.worker.pause();
    let result: Awaited<ReturnType<typeof herd>>;
    try {
      const running = herd(["ingest", dir, "--collection", "dropped", "--model", "nomic-embed-text", "--wait", "--url", stack.url], {});
      await waitFor(async () => ((await stack.get("/v1/collections/dropped")).body.documents === 3 ? true : undefined), { message: "the CLI's upload" });
      expect((await fetch(`${stack.url}/v1/collections/dropped`, { method: "DELETE" })).status).toBe(200);
      stack.api.ingest.worker.resume();
      result = await running;
    } finally {
      stack.api.ingest.worker.resume();
    }
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ingesting \[█+\] 0\/3 documents \| 0\/0 chunks \| 0 failed \| 3 superseded/);
    expect(result.stdout).toMatch(/│\s*total\s*│\s*done\s*│\s*failed\s*│\s*superseded\s*│/);
    expect(result.stdout).toMatch(/documents\s*│\s*3\s*│\s*0\s*│\s*0\s*│\s*3\s*│/);
  });

  it("on Ctrl-C stops waiting, not the ingestion, and prints the command that cancels it; --cancel does", async () => {
    // Paused (in Redis, for every worker), the ingest queue leaves every document pending while the CLI waits.
    const ingestQueue = stack.api.queues.queue(INGEST_QUEUE);
    await ingestQueue.pause();
    try {
      const run = startHerd(["ingest", dir, "--collection", "interrupted", "--model", "nomic-embed-text", "--wait", "--url", stack.url]);
      await waitFor(() => /ingesting \[/.test(run.output().stdout) || undefined, { message: "the CLI waiting" });
      run.child.kill("SIGINT");
      const { code, stdout, stderr } = await run.exited;
      expect(code, `stdout: ${stdout}\nstderr: ${stderr}`).toBe(130);
      const command = /To stop it: herd (ingest --cancel ing_\S+)\n/.exec(stderr);
      expect(command, stderr).not.toBeNull();
      const ingestionId = command?.[1]?.split(" ")[2] ?? "";
      const summary = (await stack.get(`/v1/ingestions/${ingestionId}`)).body;
      expect(summary.documents, JSON.stringify(summary)).toMatchObject({ total: 3, pending: 3 });

      const canceled = await herd([...(command?.[1]?.split(" ") ?? []), "--url", stack.url], {});
      expect(canceled).toEqual({ code: 0, stdout: `canceled ingestion ${ingestionId}: 3 pending documents will not be stored\n`, stderr: "" });
      expect((await herd(["ingest", "--cancel", ingestionId, "--url", stack.url], {})).stdout).toBe(`ingestion ${ingestionId} had no pending documents left\n`);
      const unknown = await herd(["ingest", "--cancel", "ing_unknown", "--url", stack.url], {});
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("no ingestion ing_unknown");
      expect((await herd(["ingest", "--cancel", "--url", stack.url], {})).code).toBe(2);
    } finally {
      await ingestQueue.resume();
    }
    const failed = await stack.get("/v1/collections/interrupted/documents?status=failed");
    expect(failed.body.documents).toHaveLength(3);
  });

  it("sums up an ingestion canceled while it waits in one line, not a table row per document, and exits 1", async () => {
    // Paused, the ingest queue leaves every document pending until the cancel.
    const ingestQueue = stack.api.queues.queue(INGEST_QUEUE);
    await ingestQueue.pause();
    let result: Awaited<ReturnType<typeof herd>>;
    try {
      const run = startHerd(["ingest", dir, "--collection", "called-off", "--model", "nomic-embed-text", "--wait", "--url", stack.url]);
      const ingestionId = await waitFor(() => /\(ingestion (ing_\w+)\)/.exec(run.output().stdout)?.[1], { message: "the CLI's upload" });
      expect((await fetch(`${stack.url}/v1/ingestions/${ingestionId}`, { method: "DELETE" })).status).toBe(200);
      await ingestQueue.resume();
      result = await run.exited;
      expect(result.stdout).toMatch(new RegExp(`ingestion ${ingestionId} was canceled at \\S+: 3 documents not stored\n`));
    } finally {
      await ingestQueue.resume();
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/documents\s*│\s*3\s*│\s*0\s*│\s*3\s*│/);
    expect(result.stdout).not.toContain("failed document");
  });

  it("refuses bad usage with exit code 2", async () => {
    const badLanguage = await herd(["ingest", dir, "--collection", "lang", "--model", "nomic-embed-text", "--language", "klingon"], { HERD_URL: stack.url });
    expect(badLanguage.code).toBe(2);
    expect(badLanguage.stderr).toContain('no text search configuration "klingon"');
    expect((await herd(["ingest", dir], { HERD_URL: stack.url })).code).toBe(2);
    expect((await herd(["ingest", dir, "--collection", "nope"], { HERD_URL: stack.url })).stderr).toContain("pass --model to create it");
    expect((await herd(["ingest", "/no/such/folder", "--collection", "x"], { HERD_URL: stack.url })).code).not.toBe(0);
    expect((await herd(["ingest", dir, "--collection", "x", "--model", "m"], { HERD_URL: "http://127.0.0.1:9" })).code).toBe(2);
  });
});
