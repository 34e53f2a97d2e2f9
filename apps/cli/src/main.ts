#!/usr/bin/env node
import { ConfigError } from "@herd/config";
import { HerdError } from "@herd/client";
import { INGEST_USAGE } from "./ingest-usage.js";

const USAGE = `Usage: herd <command>

Commands:
  start     run Redis (if none answers), an emulated Ollama fleet (if HERD_INSTANCES is empty),
            the workers and the API; configuration comes from the environment (see README)
  ingest    upload folders or files into a collection (see herd ingest --help)
  ask       answer a question from a collection, printing it as it is written (herd ask --help)
  migrate   apply pending database migrations and exit (the API also migrates at start-up)
  doctor    check Redis, Postgres + pgvector and every Ollama instance before a deployment
  keys      create, list and revoke API keys (see herd keys help)
  help      show this text

${INGEST_USAGE}`;

/** Each command loads only its own modules: a CLI run should not pay for the others' (Redis, BullMQ, Postgres clients). */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case "start":
      return (await import("./start.js")).start(process.env);
    case "ingest":
      return (await import("./ingest.js")).ingest(argv.slice(1), process.env);
    case "ask":
      return (await import("./ask.js")).ask(argv.slice(1), process.env);
    case "migrate":
      return (await import("./migrate.js")).runMigrate(argv.slice(1), process.env);
    case "doctor":
      return (await import("./doctor/index.js")).runDoctor(argv.slice(1), process.env);
    case "keys":
      return (await import("./keys.js")).keysCommand(argv.slice(1), process.env);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`herd: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

// A reader that stops early (`herd ingest … --wait | head`) closes the pipe. Node ignores SIGPIPE,
// so the next write fails with EPIPE, an unhandled error with a stack trace; end instead as
// command-line tools that SIGPIPE ends do, quietly with status 141 (128 + SIGPIPE).
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(141);
});

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof HerdError) {
      console.error(`herd: ${error.message}`);
      process.exit(2);
    }
    console.error(`herd: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  });
