/**
 * For the watchdog in .ci/run: keeps the name of the test that started last in the file
 * $TEST_PROGRESS_FILE, so a suite stopped for taking too long says where it was. Vitest's
 * own reporters print a test only once it has finished.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

export default class ProgressFileReporter implements Reporter {
  private readonly file = process.env.TEST_PROGRESS_FILE;

  private note(what: string): void {
    if (this.file) writeFileSync(this.file, `${what} (started ${new Date().toISOString()})\n`);
  }

  onTestModuleStart(module: TestModule): void {
    this.note(module.moduleId);
  }

  onTestCaseReady(test: TestCase): void {
    this.note(`${test.module.moduleId} > ${test.fullName}`);
  }
}
