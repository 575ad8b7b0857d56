// Runs the vitest suite, then prints one plain closing line "N passed, N failed[, N skipped]"
// that CI and people can read at a glance. Exits with vitest's exit code.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "durun-test-report-"));
const report = join(dir, "report.json");
const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)];
const res = spawnSync("npx", args, { stdio: "inherit" });
let code = res.status ?? 1;
try {
  const r = JSON.parse(readFileSync(report, "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (r.numTotalTests === 0) code = code || 1;
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
} catch (e) {
  console.error(`could not read the vitest report: ${e.message}`);
  code = code || 1;
}
rmSync(dir, { recursive: true, force: true });
process.exit(code);
