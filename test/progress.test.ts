import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressBar, renderProgress } from '../src/cli/progress.js';
import { EVIDENCE, KEYS, mustRun, runCli } from './helpers/cli.js';
import { writeTrustFile } from './helpers/keys.js';
import { HAS_SCRIPT, onTerminal } from './helpers/terminal.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const BAR = /\r(verify|hashing|writing) \[[#-]{10,30}\]/;

describe('progress on stderr', () => {
  let dir: string;
  let bundle: string;
  let trust: string;
  const exportTo = (out: string, extra: string[] = []) =>
    ['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', '2026-11-01T00:00:00Z', '--out', out, ...extra, join(EVIDENCE, 'acme')];

  beforeAll(() => {
    dir = tempDir();
    bundle = join(dir, 'acme.tar');
    mustRun(exportTo(bundle));
    trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
  });

  it('is absent when stderr is not a terminal', () => {
    const v = runCli(['verify', bundle, '--trust', trust]);
    expect(v.status).toBe(0);
    expect(v.stderr).not.toMatch(/\r|\x1b\[|verify \[/);
    const e = runCli(exportTo(join(dir, 'piped.tar')));
    expect(e.status).toBe(0);
    expect(e.stderr).toBe('');
  });

  it.skipIf(!HAS_SCRIPT)('verify and export draw a bar on a terminal, then erase it', () => {
    const v = onTerminal(['verify', bundle, '--trust', trust]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/\rverify \[#{10,30}\] 100% [0-9.]+ KiB\/[0-9.]+ KiB \d+ files [0-9.]+ (K?i?B)\/s ETA 0:00\x1b\[K/);
    expect(v.stdout).toMatch(/\r\x1b\[KPASS/); // erased before the report
    const e = onTerminal(exportTo(join(dir, 'tty.tar')));
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/\rhashing \[#{10,30}\] 100% .*11\/11 files/);
    expect(e.stdout).toMatch(/\rwriting \[#{10,30}\] 100% /);
    expect(e.stdout).toMatch(/\r\x1b\[Kwrote /);
  });

  it.skipIf(!HAS_SCRIPT)('stays off on a terminal with --quiet or --json', () => {
    for (const extra of [['--quiet'], ['--json']]) {
      const v = onTerminal(['verify', bundle, '--trust', trust, ...extra]);
      expect(v.status).toBe(0);
      expect(v.stdout).not.toMatch(BAR);
      const e = onTerminal(exportTo(join(dir, `q${extra[0]}.tar`), extra));
      expect(e.status).toBe(0);
      expect(e.stdout).not.toMatch(BAR);
    }
    const j = onTerminal(['verify', bundle, '--trust', trust, '--json']);
    expect(() => JSON.parse(j.stdout.replace(/\r\n/g, '\n'))).not.toThrow();
  });
});

describe('progress bar rendering', () => {
  it('shows fraction, sizes, files, rate and time left', () => {
    const line = renderProgress({ label: 'verify', bytes: 512 * 2 ** 20, totalBytes: 2 ** 30, files: 40, totalFiles: 100 }, 2, 79);
    expect(line).toBe('verify [#######------]  50% 512.0 MiB/1.0 GiB 40/100 files 256.0 MiB/s ETA 0:02');
    expect(line.length).toBeLessThanOrEqual(79);
  });

  it('counts files when the byte total is not known yet', () => {
    const line = renderProgress({ label: 'hashing', bytes: 300 * 2 ** 20, files: 25_000, totalFiles: 100_000 }, 3, 100);
    expect(line).toBe('hashing [########----------------------]  25% 300.0 MiB 25000/100000 files 100.0 MiB/s ETA 0:09');
  });

  it('counts files when every input is empty, and is done when there is nothing at all', () => {
    expect(renderProgress({ label: 'hashing', bytes: 0, totalBytes: 0, files: 3, totalFiles: 10 }, 1, 100)).toMatch(/\]  30% .* 3\/10 files /);
    expect(renderProgress({ label: 'hashing', bytes: 0, totalBytes: 0, files: 0 }, 1, 100)).toMatch(/\] 100% /);
  });

  it('redraws at most ten times a second, but always draws the end', () => {
    const writes: string[] = [];
    let t = 0;
    const stream = { write: (s: string) => writes.push(s), columns: 200, isTTY: true } as unknown as NodeJS.WriteStream;
    const bar = progressBar(true, stream, () => t);
    for (let k = 0; k <= 100; k++) {
      t = k * 10; // an update every 10 ms for one second
      bar.update({ label: 'verify', bytes: k, totalBytes: 100, files: k });
    }
    expect(writes.length).toBeGreaterThanOrEqual(10);
    expect(writes.length).toBeLessThanOrEqual(12);
    expect(writes.at(-1)).toContain('100%');
    bar.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing when disabled', () => {
    const writes: string[] = [];
    const stream = { write: (s: string) => writes.push(s), isTTY: true } as unknown as NodeJS.WriteStream;
    const bar = progressBar(false, stream);
    bar.update({ label: 'verify', bytes: 1, totalBytes: 2, files: 1 });
    bar.done();
    expect(writes).toEqual([]);
  });
});
