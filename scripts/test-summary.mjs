// Adds up the vitest JSON reports of every workspace package into one closing line,
// "N passed, N failed", and fails when a package has no report or ran no test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repositoryRoot = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
for (const group of ['packages', 'apps', 'tooling']) {
  for (const packageName of readdirSync(join(repositoryRoot, group))) {
    const packageDirectory = join(repositoryRoot, group, packageName);
    const manifestPath = join(packageDirectory, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!manifest.scripts?.test) continue;
    const reportPath = join(packageDirectory, 'test-results.json');
    if (!existsSync(reportPath)) {
      problems.push(`${manifest.name}: no test report (${reportPath})`);
      continue;
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    if (report.numTotalTests === 0) problems.push(`${manifest.name}: ran no test`);
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    console.log(
      `${manifest.name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`,
    );
  }
}
for (const problem of problems) console.error(problem);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || problems.length > 0 ? 1 : 0;
