import Table from "cli-table3";

export type Status = "ok" | "warn" | "fail";

export interface Finding {
  check: string;
  status: Status;
  detail: string;
}

export const ok = (check: string, detail: string): Finding => ({ check, status: "ok", detail });
export const warn = (check: string, detail: string): Finding => ({ check, status: "warn", detail });
export const fail = (check: string, detail: string): Finding => ({ check, status: "fail", detail });

/** "1.2.3" ≥ "1.2.0"; missing parts count as 0 and anything after the numbers (e.g. "-rc1") is ignored. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (text: string) => (/^\d+(\.\d+)*/.exec(text)?.[0] ?? "0").split(".").map(Number);
  const have = parts(version);
  const need = parts(minimum);
  for (let i = 0; i < Math.max(have.length, need.length); i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** The table, then one line per failure (what to fix), then a one-line verdict. */
export function renderReport(findings: readonly Finding[], color: boolean): string {
  const paint = (status: Status) => {
    if (!color) return status;
    const code = status === "ok" ? 32 : status === "warn" ? 33 : 31;
    return `\u001b[${code}m${status}\u001b[0m`;
  };
  const table = new Table({ head: ["check", "status", "detail"], style: { head: [], border: [], compact: true }, wordWrap: true, colWidths: [Math.max(7, ...findings.map((finding) => finding.check.length)) + 2, 8, 80] });
  for (const finding of findings) table.push([finding.check, paint(finding.status), finding.detail]);
  const failures = findings.filter((finding) => finding.status === "fail");
  const warnings = findings.filter((finding) => finding.status === "warn").length;
  const lines = [table.toString(), ""];
  for (const failure of failures) lines.push(`✗ ${failure.check}: ${failure.detail}`);
  lines.push(failures.length > 0 ? `${failures.length} check(s) failed, ${warnings} warning(s)` : `all checks passed${warnings > 0 ? `, ${warnings} warning(s)` : ""}`);
  return `${lines.join("\n")}\n`;
}
