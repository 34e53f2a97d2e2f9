import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { HerdClient, HerdError, IngestionReader, type IngestionSummary } from "@herd/client";
import type { EnvSource } from "@herd/config";
import { INGESTION_CANCELED, normalizeModel } from "@herd/jobs";
import { clientFor } from "./api-client.js";
import { batches, collectFiles, readBytes } from "./files.js";
import { INGEST_USAGE } from "./ingest-usage.js";

const MAX_FILES_PER_UPLOAD = 100;
const MAX_BYTES_PER_UPLOAD = 32 * 1024 * 1024;
function total(summaries: readonly IngestionSummary[]) {
  const sum = { documents: 0, done: 0, failed: 0, superseded: 0, chunks: 0, embedded: 0 };
  for (const summary of summaries) {
    sum.documents += summary.documents.total;
    sum.done += summary.documents.done;
    sum.failed += summary.documents.failed;
    // Older APIs counted these as done.
    sum.superseded += summary.documents.superseded ?? 0;
    sum.chunks += summary.chunks.total;
    sum.embedded += summary.chunks.embedded;
  }
  return sum;
}

/** `herd ingest --cancel ID...`: 0 when every ingestion was found (canceled, or already over), 2 otherwise. */
async function cancelIngestions(client: HerdClient, ids: readonly string[], out: NodeJS.WriteStream): Promise<number> {
  let code = 0;
  for (const id of ids) {
    try {
      const canceled = await client.cancelIngestion(id);
      out.write(canceled > 0 ? `canceled ingestion ${id}: ${canceled} pending document${canceled === 1 ? "" : "s"} will not be stored\n` : `ingestion ${id} had no pending documents left\n`);
    } catch (error) {
      if (!(error instanceof HerdError) || error.status !== 404) throw error;
      process.stderr.write(`herd ingest: no ingestion ${id} (unknown, or its record has expired)\n`);
      code = 2;
    }
  }
  return code;
}

/** `herd ingest`: returns the exit code (0 ok, 1 documents failed, 2 usage or connection error). */
export async function ingest(argv: string[], env: EnvSource, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { collection: { type: "string" }, model: { type: "string" }, language: { type: "string" }, wait: { type: "boolean" }, metadata: { type: "string" }, "fallback-charset": { type: "string" }, url: { type: "string" }, cancel: { type: "boolean" }, help: { type: "boolean" } },
  });
  if (values.help) {
    out.write(`${INGEST_USAGE}\n`);
    return 0;
  }
  if (values.cancel) {
    if (positionals.length === 0) {
      process.stderr.write(`herd ingest: --cancel takes the ids of the ingestions to cancel\n\n${INGEST_USAGE}\n`);
      return 2;
    }
    return cancelIngestions(clientFor(values.url, env), positionals, out);
  }
  if (!values.collection || positionals.length === 0) {
    process.stderr.write(`herd ingest: give at least one folder or file and --collection\n\n${INGEST_USAGE}\n`);
    return 2;
  }
  let metadata: Record<string, unknown> | undefined;
  if (values.metadata) {
    try {
      metadata = JSON.parse(values.metadata) as Record<string, unknown>;
    } catch {
      process.stderr.write("herd ingest: --metadata is not valid JSON\n");
      return 2;
    }
  }
  const client = clientFor(values.url, env);
  const files = await collectFiles(positionals);
  if (files.length === 0) {
    process.stderr.write("herd ingest: no files found\n");
    return 2;
  }
  const existing = await client.collection(values.collection);
  if (!existing) {
    if (!values.model) {
      process.stderr.write(`herd ingest: collection "${values.collection}" does not exist; pass --model to create it\n`);
      return 2;
    }
    const created = await client.createCollection({ name: values.collection, model: values.model, ...(values.language ? { language: values.language } : {}) });
    out.write(`created collection ${values.collection} (${created.model}, ${created.language})\n`);
  } else {
    // The collection's own settings win; say so rather than let a flag seem to have taken effect.
    if (values.model && normalizeModel(values.model).toLowerCase() !== existing.model.toLowerCase()) {
      process.stderr.write(`herd ingest: collection "${values.collection}" exists with model ${existing.model}; --model ${values.model} applies only when creating one\n`);
    }
    if (values.language && values.language.toLowerCase() !== existing.language) {
      process.stderr.write(`herd ingest: collection "${values.collection}" exists with language ${existing.language}; --language ${values.language} applies only when creating one\n`);
    }
  }
  const ids: string[] = [];
  const uploaded = new Map<string, number>();
  for (const group of batches(files, MAX_FILES_PER_UPLOAD, MAX_BYTES_PER_UPLOAD)) {
    const documents = await Promise.all(group.map(async (file) => ({ id: file.id, data: await readBytes(file) })));
    const id = await client.ingest(values.collection, documents, metadata, values["fallback-charset"] ? { fallbackCharset: values["fallback-charset"] } : {});
    ids.push(id);
    uploaded.set(id, documents.length);
  }
  out.write(`uploaded ${files.length} files to ${values.collection} (ingestion ${ids.join(", ")})\n`);
  if (!values.wait) return 0;

  const bar = new cliProgress.SingleBar(
    { format: "ingesting [{bar}] {done}/{documents} documents | {embedded}/{chunks} chunks | {failed} failed{superseded}", noTTYOutput: true, notTTYSchedule: 2000, stream: out, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(files.length, 0, { done: 0, documents: files.length, embedded: 0, chunks: 0, failed: 0, superseded: "" });
  // Ctrl-C stops the waiting, not the ingestion (it runs in Herd): say so, and how to stop it too.
  // Stopping the bar first gives a terminal its cursor back.
  process.once("SIGINT", () => {
    bar.stop();
    process.stderr.write(`herd ingest: stopped waiting; the ingestion goes on in Herd. To stop it: herd ingest --cancel ${ids.join(" ")}\n`);
    process.exit(130);
  });
  let summaries: IngestionSummary[];
  const reader = new IngestionReader(client, {
    onForgotten: (id) => process.stderr.write(`\nherd ingest: the API no longer knows ingestion ${id} (its Redis lost the record); its documents are stored, and the API's recovery pass queues them again and rebuilds the record within minutes. Still waiting.\n`),
  });
  // Before any reading of an ingestion the API forgot, it shows as its uploaded documents, pending.
  const unread = (id: string): IngestionSummary => {
    const documents = uploaded.get(id) ?? 0;
    return { id, collection: values.collection ?? "", status: "running", documents: { total: documents, done: 0, failed: 0, pending: documents, superseded: 0 }, chunks: { total: 0, embedded: 0 }, errors: [], warnings: [], createdAt: "" };
  };
  for (;;) {
    summaries = await Promise.all(ids.map(async (id) => (await reader.read(id)) ?? unread(id)));
    const sum = total(summaries);
    bar.update(sum.done + sum.failed + sum.superseded, { ...sum, superseded: sum.superseded > 0 ? ` | ${sum.superseded} superseded` : "" });
    if (summaries.every((summary) => summary.status !== "running")) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  bar.stop();
  const sum = total(summaries);
  // Documents deleted or uploaded again while this ran: a column only when there were any.
  const superseded = sum.superseded > 0;
  const table = new Table({ head: ["", "total", "done", "failed", ...(superseded ? ["superseded"] : [])], style: { head: [], border: [] } });
  table.push(["documents", sum.documents, sum.done, sum.failed, ...(superseded ? [sum.superseded] : [])], ["chunks", sum.chunks, sum.embedded, "", ...(superseded ? [""] : [])]);
  out.write(`${table.toString()}\n`);
  // A canceled ingestion's documents all fail with the same reason: one line, not a row each.
  for (const summary of summaries) {
    const canceled = summary.errors.filter((error) => error.error === INGESTION_CANCELED).length;
    if (summary.canceledAt && canceled > 0) out.write(`ingestion ${summary.id} was canceled at ${summary.canceledAt}: ${canceled} document${canceled === 1 ? "" : "s"} not stored\n`);
  }
  const errors = summaries.flatMap((summary) => (summary.canceledAt ? summary.errors.filter((error) => error.error !== INGESTION_CANCELED) : summary.errors));
  if (errors.length > 0) {
    const failures = new Table({ head: ["failed document", "reason"], colWidths: [40, 80], wordWrap: true, style: { head: [], border: [] } });
    for (const error of errors) failures.push([error.documentId, error.error]);
    out.write(`${failures.toString()}\n`);
  }
  // Stored, but not all of it could be read (a PDF's scanned pages): said, not counted as failures.
  // An API older than the warnings sends none.
  const warnings = summaries.flatMap((summary) => summary.warnings ?? []);
  if (warnings.length > 0) {
    const partly = new Table({ head: ["stored in part", "what could not be read"], colWidths: [40, 80], wordWrap: true, style: { head: [], border: [] } });
    for (const warning of warnings) partly.push([warning.documentId, warning.warning]);
    out.write(`${partly.toString()}\n`);
  }
  return sum.failed > 0 ? 1 : 0;
}

