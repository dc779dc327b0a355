/* global process, console */
// Prints one closing line, `N passed, N failed, N skipped`, over vitest's JSON reports.
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    console.error(`summarize: no report in ${file}`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests;
  // A file that fails to load has no failed test of its own; count it so it cannot pass unseen.
  failed += report.numFailedTests || report.numFailedTestSuites;
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
