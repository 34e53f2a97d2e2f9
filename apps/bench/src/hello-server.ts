import type { Server } from "node:http";
import express from "express";
import { createExpressServer } from "@herd/api/http-server";

// The baseline for the cache-hit benchmark: the cheapest possible express route. With
// --app-prototypes it runs on the same server construction as Herd's API (see http-server.ts).
const app = express();
app.disable("x-powered-by");
app.get("/hello", (_req, res) => {
  res.send("hello");
});
const onListening = () => {
  const address = server.address();
  console.log(JSON.stringify({ event: "ready", port: typeof address === "object" && address ? address.port : 0 }));
};
const server: Server = process.argv.includes("--app-prototypes") ? createExpressServer(app).listen(0, "127.0.0.1", onListening) : app.listen(0, "127.0.0.1", onListening);
process.once("SIGTERM", () => server.close(() => process.exit(0)));
