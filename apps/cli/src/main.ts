#!/usr/bin/env node
import { ConfigError } from "@herd/config";
import { start } from "./start.js";

const USAGE = `Usage: herd <command>

Commands:
  start     run Redis (if none answers), an emulated Ollama fleet (if HERD_INSTANCES is empty),
            the workers and the API; configuration comes from the environment (see README)
  help      show this text`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case "start":
      return start(process.env);
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

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(error instanceof ConfigError ? `herd: ${error.message}` : `herd: ${(error as Error).stack ?? String(error)}`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  });
