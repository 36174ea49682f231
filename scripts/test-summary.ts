// Prints vitest's JSON report as the one line CI reads: "tests: N passed, N failed".
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? ".test-runs/vitest.json";
let report: { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
try {
  report = JSON.parse(readFileSync(path, "utf8"));
} catch (error) {
  console.error(`no test report at ${path}: ${(error as Error).message}`);
  console.log("tests: 0 passed, 1 failed");
  process.exit(1);
}
const skipped = report.numPendingTests + report.numTodoTests;
console.log(
  `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed` +
    (skipped ? `, ${skipped} skipped` : ""),
);
