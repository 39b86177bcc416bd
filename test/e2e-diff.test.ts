import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, mustExport, runCli, type CliResult } from './helpers/cli.js';
import { sha256Hex } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { entry, fileEntry, readBundle, rewriteBundle } from './helpers/tar.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');
const NEXT = join(EVIDENCE, 'acme-next');

interface Artifact {
  name: string;
  sha256: string;
  size: number;
}
interface DiffDoc {
  different: boolean;
  summary: Record<string, number>;
  added: Artifact[];
  removed: Artifact[];
  changed: Array<{ name: string; before: { sha256: string; size: number }; after: { sha256: string; size: number } }>;
  renamed: Array<{ from: string; to: string; sha256: string }>;
  metadata: unknown[];
  tenant: { before: string; after: string } | null;
  scope: { before: Record<string, string>; after: Record<string, string> } | null;
  signers: { added: string[]; removed: string[] } | null;
  createdAt: { before: string; after: string } | null;
}

let dir: string;
let base: string;
const b = (name: string) => join(dir, name);

const diff = (a: string, c: string, extra: string[] = []): CliResult => runCli(['diff', a, c, ...extra]);

function diffJson(a: string, c: string): { r: CliResult; doc: DiffDoc } {
  const r = diff(a, c, ['--json']);
  const doc = JSON.parse(r.stdout) as DiffDoc;
  expectSchema('diff-report', doc);
  expect(doc.different).toBe(r.status === 1);
  return { r, doc };
}

const fixtureArtifact = (root: string, name: string): Artifact => {
  const data = readFileSync(join(root, name));
  return { name, sha256: sha256Hex(data), size: data.length };
};

beforeAll(() => {
  dir = tempDir();
  base = b('acme.tar');
  mustExport({ out: base, inputs: [ACME], extra: ['--scope', 'environment=prod'] });
});

describe('diff', () => {
  it('the same bundle twice: exit 0, nothing added, removed, changed or renamed', () => {
    const { r, doc } = diffJson(base, base);
    expect(r.status, r.stderr).toBe(0);
    expect(doc.different).toBe(false);
    expect(doc.summary).toEqual({ added: 0, removed: 0, changed: 0, renamed: 0, metadata: 0 });
    expect([doc.tenant, doc.scope, doc.signers, doc.createdAt]).toEqual([null, null, null, null]);
    const human = diff(base, base);
    expect(human.status).toBe(0);
    expect(human.stdout.length).toBeGreaterThan(0);
  });

  it('a gzip and a plain export of the same evidence: exit 0', () => {
    const gz = b('acme.tgz');
    mustExport({ out: gz, inputs: [ACME], extra: ['--scope', 'environment=prod'] });
    expect(diff(base, gz).status).toBe(0);
  });

  it('fixtures acme -> acme-next: exit 1 with exactly the changes fixtures/README.md describes', () => {
    const next = b('acme-next.tar');
    mustExport({ out: next, inputs: [NEXT], extra: ['--scope', 'environment=prod'] });
    const { r, doc } = diffJson(base, next);
    expect(r.status, r.stderr).toBe(1);
    expect(doc.added.map(({ name, sha256, size }) => ({ name, sha256, size }))).toEqual([
      fixtureArtifact(NEXT, 'logs/scanner-2026-10-21.log'),
    ]);
    expect(doc.removed.map(({ name, sha256, size }) => ({ name, sha256, size }))).toEqual([
      fixtureArtifact(ACME, 'logs/scanner-2026-10-14.log'),
      fixtureArtifact(ACME, 'sbom/copy-of-payments-api.cdx.json'),
    ]);
    const before = fixtureArtifact(ACME, 'sbom/payments-api.cdx.json');
    const after = fixtureArtifact(NEXT, 'sbom/payments-api.cdx.json');
    expect(doc.changed).toEqual([
      { name: 'sbom/payments-api.cdx.json', before: { sha256: before.sha256, size: before.size }, after: { sha256: after.sha256, size: after.size } },
    ]);
    expect(doc.renamed).toEqual([
      { from: 'policy/decision-2026-10-14.json', to: 'policy/decision-latest.json', sha256: fixtureArtifact(ACME, 'policy/decision-2026-10-14.json').sha256 },
    ]);
    expect(doc.summary).toEqual({ added: 1, removed: 2, changed: 1, renamed: 1, metadata: 0 });
    expect([doc.tenant, doc.scope, doc.signers, doc.createdAt]).toEqual([null, null, null, null]);

    const human = diff(base, next);
    expect(human.status).toBe(1);
    for (const s of [
      'logs/scanner-2026-10-21.log',
      'logs/scanner-2026-10-14.log',
      'sbom/copy-of-payments-api.cdx.json',
      'sbom/payments-api.cdx.json',
      'policy/decision-2026-10-14.json',
      'policy/decision-latest.json',
    ]) {
      expect(human.stdout).toContain(s);
    }
    // Reversed, additions and removals swap.
    const back = diffJson(next, base).doc;
    expect(back.added.map((a) => a.name)).toEqual(['logs/scanner-2026-10-14.log', 'sbom/copy-of-payments-api.cdx.json']);
    expect(back.removed.map((a) => a.name)).toEqual(['logs/scanner-2026-10-21.log']);
    expect(back.renamed.map((x) => [x.from, x.to])).toEqual([['policy/decision-latest.json', 'policy/decision-2026-10-14.json']]);
  });

  it('only the creation time differs: exit 0, but the change is reported', () => {
    const later = b('acme-later.tar');
    mustExport({ out: later, inputs: [ACME], createdAt: '2026-12-01T08:00:00Z', extra: ['--scope', 'environment=prod'] });
    const { r, doc } = diffJson(base, later);
    expect(r.status, r.stderr).toBe(0);
    expect(doc.createdAt).toEqual({ before: '2026-11-01T00:00:00Z', after: '2026-12-01T08:00:00Z' });
    const human = diff(base, later);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('2026-12-01T08:00:00Z');
  });

  it('a different scope: exit 1 and flagged', () => {
    const staging = b('acme-staging.tar');
    mustExport({ out: staging, inputs: [ACME], extra: ['--scope', 'environment=staging'] });
    const { r, doc } = diffJson(base, staging);
    expect(r.status).toBe(1);
    expect(doc.scope).toEqual({ before: { environment: 'prod' }, after: { environment: 'staging' } });
    expect(doc.summary).toEqual({ added: 0, removed: 0, changed: 0, renamed: 0, metadata: 0 });
    const human = diff(base, staging);
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/scope/i);
    expect(human.stdout).toContain('staging');
  });

  it('a different signer: exit 1 and both key ids named', () => {
    const co = b('acme-co.tar');
    mustExport({ out: co, inputs: [ACME], key: KEYS.acmeCo.key, extra: ['--scope', 'environment=prod'] });
    const { r, doc } = diffJson(base, co);
    expect(r.status).toBe(1);
    expect(doc.signers).toEqual({ added: [KEYS.acmeCo.keyid], removed: [KEYS.acme.keyid] });
    const human = diff(base, co);
    expect(human.status).toBe(1);
    expect(human.stdout).toContain(KEYS.acmeCo.keyid);
  });

  it('a different tenant: exit 1 and flagged', () => {
    const other = b('acme2.tar');
    mustExport({ out: other, inputs: [ACME], tenant: 'acme2', extra: ['--scope', 'environment=prod'] });
    const { r, doc } = diffJson(base, other);
    expect(r.status).toBe(1);
    expect(doc.tenant).toEqual({ before: 'acme', after: 'acme2' });
    expect(diff(base, other).stdout).toMatch(/tenant/i);
  });

  it('compares a bundle with a bare manifest.json and with an envelope taken from it', async () => {
    const entries = await readBundle(base);
    const manifest = b('manifest.json');
    const envelope = b('manifest.dsse.json');
    writeFileSync(manifest, entry(entries, 'manifest.json').data);
    writeFileSync(envelope, entry(entries, 'manifest.dsse.json').data);
    const m = diffJson(base, manifest).doc;
    expect(m.summary).toEqual({ added: 0, removed: 0, changed: 0, renamed: 0, metadata: 0 });
    const { r, doc } = diffJson(base, envelope);
    expect(r.status).toBe(0);
    expect(doc.summary).toEqual({ added: 0, removed: 0, changed: 0, renamed: 0, metadata: 0 });
  });

  describe('unreadable or malformed input: exit 2', () => {
    let bad: string;
    beforeAll(() => {
      bad = join(dir, 'bad');
      mkdirSync(bad);
    });

    it('a missing file', () => {
      expectCleanFailure(diff(base, join(bad, 'nope.tar')), 2, /nope\.tar/);
      expectCleanFailure(diff(join(bad, 'nope.tar'), base), 2, /nope\.tar/);
    });

    it('a directory', () => {
      expectCleanFailure(diff(base, bad), 2);
    });

    it.each([
      ['not a tar or JSON', 'plain text, not a bundle\n'.repeat(30)],
      ['an empty file', ''],
      ['truncated JSON', '{"_type":"https://in-toto.io/Statement/v1","subject":['],
      ['JSON that is not a manifest', '{"hello":"world"}'],
      ['JSON with duplicate keys', '{"_type":"a","_type":"b"}'],
    ])('%s', (_label, text) => {
      const f = join(bad, `in-${sha256Hex(text).slice(0, 8)}`);
      writeFileSync(f, text);
      expectCleanFailure(diff(base, f), 2);
      expectCleanFailure(diff(f, base, ['--json']), 2);
    });

    it('a truncated bundle', () => {
      const bytes = readFileSync(base);
      const f = join(bad, 'truncated.tar');
      writeFileSync(f, bytes.subarray(0, 700));
      expectCleanFailure(diff(base, f), 2);
    });

    it('a tar without manifest.json', async () => {
      const f = await rewriteBundle(base, join(bad, 'no-manifest.tar'), (es) => es.filter((e) => e.name !== 'manifest.json'));
      expectCleanFailure(diff(base, f), 2, /manifest/);
    });

    it('a tar whose manifest.json is not JSON', async () => {
      const f = await rewriteBundle(base, join(bad, 'garbled.tar'), (es) =>
        es.map((e) => (e.name === 'manifest.json' ? fileEntry(e.name, '{ not json') : e)),
      );
      expectCleanFailure(diff(base, f), 2);
    });
  });

  it('a missing argument is a usage error (exit 2)', () => {
    expect(runCli(['diff', base]).status).toBe(2);
  });
});
