import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCleanFailure, FIXTURES, KEYS, mustExport, mustRun, runCli } from './helpers/cli.js';

/** Reader limits are explicit, documented, and a reviewer can raise them for a genuine bundle. */
describe('verify and extract limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'se-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const trust = join(dir, 'trust.json');
  const evidence = join(dir, 'evidence');
  const bundle = join(dir, 'zeros.tar.gz');
  mkdirSync(evidence);
  // 8 MiB of zeros compresses to a few KiB: the shape of a decompression bomb, scaled down.
  writeFileSync(join(evidence, 'layer.bin'), Buffer.alloc(8 * 1024 * 1024));
  mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
  mustExport({ out: bundle, inputs: [evidence] });
  const golden = join(FIXTURES, 'golden', 'acme.tar');

  it('an archive expanding beyond --max-archive-bytes is refused early (exit 1)', () => {
    const r = runCli(['verify', bundle, '--trust', trust, '--max-archive-bytes', '1M']);
    expectCleanFailure(r, 1, /expands beyond 1048576 bytes/);
  });

  it('the same bundle verifies under the default limit', () => {
    expect(runCli(['verify', bundle, '--trust', trust]).status).toBe(0);
  });

  it('more entries than --max-entries is refused (exit 1)', () => {
    expectCleanFailure(runCli(['verify', golden, '--trust', trust, '--max-entries', '5']), 1, /more than 5 entries/);
  });

  it('extract refuses past --max-archive-bytes, writing nothing, and works with the limit raised', () => {
    const to = join(dir, 'out');
    expectCleanFailure(runCli(['extract', bundle, '--trust', trust, '--to', to, '--max-archive-bytes', '1M']), 1, /expands beyond/);
    expect(() => readdirSync(to)).toThrow();
    mustRun(['extract', bundle, '--trust', trust, '--to', to, '--max-archive-bytes', '16MiB']);
    expect(readdirSync(to)).toEqual(['layer.bin']);
  });

  it('a malformed limit is a usage error (exit 2)', () => {
    expectCleanFailure(runCli(['verify', golden, '--trust', trust, '--max-archive-bytes', 'lots']), 2, /--max-archive-bytes/);
    expectCleanFailure(runCli(['verify', golden, '--trust', trust, '--max-entries', '0']), 2, /--max-entries/);
  });
});
