import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVIDENCE, KEYS, mustExport, runCli } from './helpers/cli.js';
import { expectSchema } from './helpers/schema.js';

/** Every --json output is one JSON document on stdout that matches its schema. */
describe('--json outputs match their schemas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'se-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const trust = join(dir, 'trust.json');
  const a = join(dir, 'a.tar');
  const b = join(dir, 'b.tar');

  const json = (args: string[], code = 0): unknown => {
    const r = runCli(args);
    expect(r.status, r.stderr).toBe(code);
    return JSON.parse(r.stdout) as unknown;
  };

  it('keygen', () => {
    const doc = json(['keygen', '--out', join(dir, 'k'), '--json']);
    expectSchema('keygen-result', doc);
    expect((doc as { encrypted: boolean }).encrypted).toBe(false);
  });

  it('trust add', () => {
    const doc = json(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub, '--json']);
    expectSchema('trust-add-result', doc);
    expect(doc).toMatchObject({ added: true, keyid: KEYS.acme.keyid, tenant: 'acme' });
  });

  it('export', () => {
    const r = mustExport({ out: a, inputs: [join(EVIDENCE, 'acme')], extra: ['--json'] });
    const doc = JSON.parse(r.stdout) as unknown;
    expectSchema('export-result', doc);
    expect(doc).toMatchObject({ tenant: 'acme', artifacts: 11, blobs: 10, signers: [KEYS.acme.keyid] });
  });

  it('verify, passing and failing', () => {
    expectSchema('verify-report', json(['verify', a, '--trust', trust, '--json']));
    const wrong = json(['verify', a, '--trust', trust, '--tenant', 'globex', '--json'], 4);
    expectSchema('verify-report', wrong);
    expect(wrong).toMatchObject({ verified: false, exitCode: 4, tenant: 'acme', expectedTenant: 'globex' });
  });

  it('diff', () => {
    mustExport({ out: b, inputs: [join(EVIDENCE, 'acme-next')] });
    const doc = json(['diff', a, b, '--json'], 1);
    expectSchema('diff-report', doc);
    expect(doc).toMatchObject({ different: true });
  });
});
