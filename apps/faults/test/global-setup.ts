import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { clearResults, loadResults, renderReliability, SCENARIO_COUNT } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Starts each run with no stale rows; at the end writes RELIABILITY.md when every scenario reported. */
export default function setup(): () => void {
  const startedAt = new Date();
  clearResults(ROOT);
  return () => {
    const results = loadResults(ROOT);
    const scenarios = new Set(results.map((row) => row.order.replace(/[a-z]$/, "")));
    const report = renderReliability(results, startedAt);
    if (scenarios.size < SCENARIO_COUNT) {
      console.log(`\n${report}\n\nRELIABILITY.md left as it was: ${scenarios.size} of ${SCENARIO_COUNT} scenarios reported in this run.`);
      return;
    }
    writeFileSync(`${ROOT}RELIABILITY.md`, `${report}\n`);
    console.log(`\nRELIABILITY.md written (${results.length} rows).`);
  };
}
