export { offerLoad, settle, duplicates, type AcceptedJob, type OfferedLoad, type Settled, type LoadOptions } from "./load.js";
export { clearResults, saveResult, loadResults, renderReliability, SCENARIO_COUNT, type ScenarioResult } from "./report.js";
export { recoveryOf, activeOn, countMap } from "./recovery.js";
