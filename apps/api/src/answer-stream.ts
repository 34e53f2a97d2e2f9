import type { Request, Response } from "express";
import type { AnswerSources, GenerateRequest } from "@herd/jobs";
import { runCompleted, requestContext, runStream, streamWriter } from "./dropin/respond.js";
import { generatedText, tokenCounts } from "./interactive.js";
import type { SyncDeps } from "./sync.js";

/**
 * A RAG answer streamed as NDJSON, for an assistant that shows the answer as it is written: a
 * `{"citations"}` line, a `{"delta"}` line per piece of text as the worker receives it from the
 * model, then `{"done": true, answer, …}`. The job is a plain streamed generation of the same
 * prompt (the citations are the route's, known before the job runs), so it takes the same cache
 * and queue as any generation, and a worker of any version runs it. Nothing is written until the
 * job is accepted or answered from the cache, so a refusal (model not served, queue full) is an
 * ordinary JSON error with its status; a failure after that is an `{"error"}` line. A client that
 * goes away cancels the job.
 */
export async function streamAnswer(deps: SyncDeps, req: Request, res: Response, request: GenerateRequest, sources: AnswerSources): Promise<void> {
  const writer = streamWriter(res, "application/x-ndjson");
  const line = (value: unknown) => writer.write(`${JSON.stringify(value)}\n`);
  let opened = false;
  // The answer text without its leading whitespace, as the non-streamed answer has it trimmed.
  let leading = true;
  const open = () => {
    if (opened) return;
    opened = true;
    line(sources);
  };
  await runStream(
    res,
    writer,
    async () => {
      const view = await runCompleted(
        deps,
        request,
        {
          ...requestContext(deps.config, req, res),
          onText: (text) => {
            const piece = leading ? text.trimStart() : text;
            if (!piece) return;
            leading = false;
            open();
            line({ delta: piece });
          },
        },
      );
      open();
      const { prompt, output } = tokenCounts(view.result);
      const { model, done_reason: doneReason } = (view.result ?? {}) as { model?: string; done_reason?: string };
      line({ done: true, model: model ?? request.model, answer: generatedText(view.result).trim(), ...(doneReason !== undefined ? { done_reason: doneReason } : {}), prompt_eval_count: prompt, eval_count: output, cached: view.cached === true });
    },
    (error) => line({ error: { code: error.code, message: error.message } }),
  );
}
