import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VERIFY_SH } from '../src/bundle/verify-script.js';
import { VERIFY_MD } from '../src/bundle/verify-doc.js';
import { EVIDENCE, FIXTURES, KEYS, REPO, mustRun } from './helpers/cli.js';

/**
 * The golden bundle pins the format: fixtures/evidence/acme exported with the test-only
 * acme key at a fixed time. When a deliberate change (format, exporter version, VERIFY.md,
 * verify.sh) moves these bytes, regenerate fixtures/golden/acme.tar with the command in
 * fixtures/golden/README.md and update the pin in the same commit, on purpose.
 */
const GOLDEN_SHA256 = '4d9a9766c683b2601247739edb9e18110ab20e90dbc59e90840389467b10e9f3';
const GOLDEN = join(FIXTURES, 'golden', 'acme.tar');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('golden bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'se-golden-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed golden bundle has the pinned SHA-256', () => {
    expect(sha256(readFileSync(GOLDEN))).toBe(GOLDEN_SHA256);
  });

  it('exporting the fixtures again gives exactly the golden bytes', () => {
    const out = join(dir, 'acme.tar');
    mustRun([
      'export', '--tenant', 'acme', '--key', KEYS.acme.key, '--scope', 'environment=prod',
      '--created-at', '2026-11-01T00:00:00Z', '--out', out, join(EVIDENCE, 'acme'),
    ]);
    expect(sha256(readFileSync(out))).toBe(GOLDEN_SHA256);
  });

  it('the golden bundle verifies', () => {
    const trust = join(dir, 'trust.json');
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
    const r = mustRun(['verify', GOLDEN, '--trust', trust, '--tenant', 'acme', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, exitCode: 0, tenant: 'acme', artifacts: 11 });
  });

  it('the README publishes the SHA-256 of verify.sh and VERIFY.md that bundles carry', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    expect(readme).toContain(sha256(VERIFY_SH));
    expect(readme).toContain(sha256(VERIFY_MD));
  });
});
