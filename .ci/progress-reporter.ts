/**
 * For the watchdog in .ci/run: keeps, in the file $TEST_PROGRESS_FILE, the test files
 * running and, in each, the tests started and not finished, else the last one finished
 * (vitest may report a test's start only with its end), so a suite stopped for taking
 * too long says where it was, with files running in parallel too. Vitest's own
 * reporters print a test only once it has finished.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

interface Running {
  file: string;
  started: string;
  tests: Map<string, string>;
  lastFinished: string | null;
}

const now = (): string => new Date().toISOString();

export default class ProgressFileReporter implements Reporter {
  private readonly file = process.env.TEST_PROGRESS_FILE;
  private readonly modules = new Map<string, Running>();

  private save(): void {
    if (!this.file) return;
    const lines: string[] = [];
    for (const m of this.modules.values()) {
      lines.push(`  ${m.file} (started ${m.started})`);
      for (const t of m.tests.values()) lines.push(`    running: ${t}`);
      if (m.tests.size === 0) lines.push(`    last finished: ${m.lastFinished ?? 'none'}`);
    }
    writeFileSync(this.file, lines.map((l) => `${l}\n`).join(''));
  }

  onTestModuleStart(module: TestModule): void {
    this.modules.set(module.id, { file: module.moduleId, started: now(), tests: new Map(), lastFinished: null });
    this.save();
  }

  onTestModuleEnd(module: TestModule): void {
    this.modules.delete(module.id);
    this.save();
  }

  onTestCaseReady(test: TestCase): void {
    this.modules.get(test.module.id)?.tests.set(test.id, `${test.fullName} (started ${now()})`);
    this.save();
  }

  onTestCaseResult(test: TestCase): void {
    const m = this.modules.get(test.module.id);
    if (!m) return;
    m.tests.delete(test.id);
    m.lastFinished = `${test.fullName} (${now()})`;
    this.save();
  }
}
