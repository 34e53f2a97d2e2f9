import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** Records every module URL resolved in a fresh Node process while it imports `entry`. */
function modulesLoadedBy(entry: string): string[] {
  // Resolve hooks run on their own thread; each resolved URL comes back over a port, in order,
  // so once a sentinel import's URL arrives every earlier one has too.
  const hooks = `let port; export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) { const result = await next(specifier, context); port.postMessage(result.url); return result; }`;
  const script = `
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const urls = [];
const sentinel = "data:text/javascript,export default 'sentinel'";
const done = new Promise((resolve) => port1.on("message", (url) => { urls.push(url); if (url === sentinel) resolve(); }));
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
await import(${JSON.stringify(entry)});
await import(sentinel);
await done;
port1.close();
process.stdout.write(JSON.stringify(urls));
`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) throw new Error(`probe exited ${String(result.status)}: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

const heavy = (urls: string[]) => urls.filter((url) => /node_modules\/(gpt-tokenizer|pdfjs-dist|marked|html-to-text|mammoth)\//.test(url));

describe("entry points", () => {
  it("the main entry (what the API's own thread imports) loads neither the parsers nor the tokenizer", () => {
    const urls = modulesLoadedBy("@herd/ingest");
    expect(urls.some((url) => url.includes("/node_modules/piscina/"))).toBe(true);
    expect(heavy(urls)).toEqual([]);
  });

  it("the parsing entry (what the pool's threads import) loads them", () => {
    const loaded = heavy(modulesLoadedBy("@herd/ingest/parsing")).map((url) => /node_modules\/([^/]+)\//.exec(url)?.[1]);
    expect(new Set(loaded)).toEqual(new Set(["gpt-tokenizer", "pdfjs-dist", "marked", "html-to-text", "mammoth"]));
  });
});
