import express from "express";

// The baseline for the cache-hit benchmark: the cheapest possible express route.
const app = express();
app.disable("x-powered-by");
app.get("/hello", (_req, res) => {
  res.send("hello");
});
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ event: "ready", port: typeof address === "object" && address ? address.port : 0 }));
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
