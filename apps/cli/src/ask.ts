import { parseArgs } from "node:util";
import type { Citation } from "@herd/client";
import type { EnvSource } from "@herd/config";
import { clientFor } from "./api-client.js";

export const ASK_USAGE = `Usage: herd ask "<question>" --collection NAME --model MODEL [options]

Answers the question from the collection's documents, printing the answer as the model writes it,
then the sources it was given (the numbers the answer cites). Ctrl-C stops the answer.

  --collection NAME   collection to answer from (required)
  --model MODEL       generation model (required), e.g. llama3.2
  --k N               how many chunks to give the model (default 5)
  --filter JSON       only documents whose metadata contains this, e.g. '{"product":"HX-220"}'
                      (the metadata herd ingest --metadata stored)
  --url URL           Herd API (default HERD_URL or http://127.0.0.1:8008); HERD_API_KEY is sent as the API key`;

/** A source as one line: its number, document, section and the start of its text. */
function sourceLine(citation: Citation, index: number): string {
  const excerpt = citation.excerpt.replace(/\s+/g, " ").trim();
  const section = citation.heading ? ` (${citation.heading})` : "";
  return `[${index + 1}] ${citation.documentId}${section}: ${excerpt.length > 100 ? `${excerpt.slice(0, 99)}…` : excerpt}`;
}

/** A JSON object, or null when `text` is not one. */
function parseFilter(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `herd ask`: 0 answered, 2 bad usage; Herd's refusals and failures are thrown (main prints them). */
export async function ask(argv: string[], env: EnvSource, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { collection: { type: "string" }, model: { type: "string" }, k: { type: "string" }, filter: { type: "string" }, url: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help) {
    out.write(`${ASK_USAGE}\n`);
    return 0;
  }
  const question = positionals.join(" ").trim();
  const k = values.k === undefined ? undefined : Number(values.k);
  const filter = values.filter === undefined ? undefined : parseFilter(values.filter);
  const problem = !question
    ? "a question is required"
    : !values.collection
      ? "--collection is required"
      : !values.model
        ? "--model is required"
        : k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= 100)
          ? "--k must be a whole number from 1 to 100"
          : filter === null
            ? "--filter must be a JSON object, e.g. '{\"product\":\"HX-220\"}'"
            : undefined;
  if (problem || !values.collection || !values.model || filter === null) {
    process.stderr.write(`herd ask: ${problem}\n\n${ASK_USAGE}\n`);
    return 2;
  }
  const client = clientFor(values.url, env);
  // Ctrl-C leaves the stream, which cancels the answer's generation in Herd.
  const leaving = new AbortController();
  const interrupt = () => leaving.abort();
  process.once("SIGINT", interrupt);
  let citations: Citation[] = [];
  let omitted = 0;
  try {
    for await (const event of client.answerStream(values.collection, question, values.model, { ...(k ? { k } : {}), ...(filter ? { filter } : {}), signal: leaving.signal })) {
      if ("citations" in event) {
        citations = event.citations;
        omitted = event.sourcesOmitted ?? 0;
      }
      else if ("delta" in event) out.write(event.delta);
    }
  } catch (error) {
    if (leaving.signal.aborted) {
      out.write("\n");
      return 130;
    }
    throw error;
  } finally {
    process.removeListener("SIGINT", interrupt);
  }
  out.write(citations.length > 0 ? `\n\nSources:\n${citations.map(sourceLine).join("\n")}\n` : "\n\nSources: none (no chunk of the collection matched)\n");
  if (omitted > 0) out.write(`(${omitted} more matched but did not fit the model's context: ask with a smaller --k, or give the model a larger num_ctx)\n`);
  return 0;
}
