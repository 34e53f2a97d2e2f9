import { parseArgs } from "node:util";
import { startEmbeddedServer } from "./embedded.js";

/**
 * `node embedded-main.js --data-dir DIR [--port P]`: runs the embedded Postgres and prints one
 * JSON line `{"event":"ready","url":…}`. Stops on SIGTERM/SIGINT or when its stdin closes (its parent went away).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "data-dir": { type: "string" }, port: { type: "string" }, host: { type: "string" } } });
  const dataDir = values["data-dir"];
  if (!dataDir) throw new Error("--data-dir is required");
  const server = await startEmbeddedServer({ dataDir, port: Number(values.port ?? 0), host: values.host ?? "127.0.0.1" });
  console.log(JSON.stringify({ event: "ready", url: server.url }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.close().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // The parent holds our stdin open; EOF means it is gone (even after kill -9), so we must not
  // outlive it holding the data directory.
  process.stdin.once("end", stop);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  console.error(`embedded postgres: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
