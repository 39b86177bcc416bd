import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, mustExport, mustRun, runCli } from './helpers/cli.js';
import { expectSchema } from './helpers/schema.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { entryData, packTar, readEntries } from './helpers/workflow.js';

afterAll(removeTempDirs);

type Form = 'bundle' | 'manifest' | 'envelope';
const FORMS: Form[] = ['bundle', 'manifest', 'envelope'];

let dir: string;
let trust: string;
const sides: Record<'a' | 'b', Record<Form, string>> = { a: {} as Record<Form, string>, b: {} as Record<Form, string> };

beforeAll(async () => {
  dir = tempDir('se-diff-');
  trust = join(dir, 'trust.json');
  mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
  sides.a.bundle = join(dir, 'acme-1014.tar');
  sides.b.bundle = join(dir, 'acme-1021.tar.gz');
  mustExport({ out: sides.a.bundle, inputs: [join(EVIDENCE, 'acme')], createdAt: '2026-10-14T12:00:00Z' });
  mustExport({ out: sides.b.bundle, inputs: [join(EVIDENCE, 'acme-next')], createdAt: '2026-10-21T12:00:00Z' });
  for (const s of ['a', 'b'] as const) {
    sides[s].manifest = join(dir, `${s}-manifest.json`);
    sides[s].envelope = join(dir, `${s}-manifest.dsse.json`);
    writeFileSync(sides[s].manifest, await entryData(sides[s].bundle, 'manifest.json'));
    writeFileSync(sides[s].envelope, await entryData(sides[s].bundle, 'manifest.dsse.json'));
  }
});

const diffJson = (args: string[], code: number) => {
  const r = runCli(['diff', ...args, '--json']);
  expect(r.status, `diff ${args.join(' ')}: ${r.stderr}`).toBe(code);
  const doc = JSON.parse(r.stdout);
  expectSchema('diff-report', doc);
  return doc;
};

/** What fixtures/README.md says changed between acme and acme-next. */
function expectFixtureChanges(doc: Record<string, unknown> & { summary: unknown; added: Array<{ name: string }> }) {
  expect(doc.summary).toEqual({ added: 1, removed: 2, changed: 1, renamed: 1, metadata: 0 });
  expect(doc.added.map((x) => x.name)).toEqual(['logs/scanner-2026-10-21.log']);
  expect((doc.removed as Array<{ name: string }>).map((x) => x.name)).toEqual(['logs/scanner-2026-10-14.log', 'sbom/copy-of-payments-api.cdx.json']);
  expect((doc.changed as Array<{ name: string }>).map((x) => x.name)).toEqual(['sbom/payments-api.cdx.json']);
  expect(doc.renamed).toEqual([
    { from: 'policy/decision-2026-10-14.json', to: 'policy/decision-latest.json', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
  ]);
  expect(doc.createdAt).toEqual({ before: '2026-10-14T12:00:00Z', after: '2026-10-21T12:00:00Z' });
  expect(doc.tenant).toBeNull();
  expect(doc.scope).toBeNull();
}

describe('diff without --trust: any combination of inputs, marked unverified', () => {
  for (const fa of FORMS) {
    for (const fb of FORMS) {
      it(`${fa} vs ${fb}`, () => {
        const doc = diffJson([sides.a[fa], sides.b[fb]], 1);
        expectFixtureChanges(doc);
        expect(doc.verified).toBe(false);
        expect(doc.notice).toMatch(/NOT VERIFIED/);
        expect(doc.sides.a.form).toBe(fa);
        expect(doc.sides.b.form).toBe(fb);
        const compared = fa !== 'manifest' && fb !== 'manifest';
        expect(doc.signersCompared).toBe(compared);
        expect(doc.signers).toBeNull();
        if (compared) expect(doc.sides.a.signers).toEqual([KEYS.acme.keyid]);
      });
    }
  }

  it('reads like a review: unverified notice and summary first, then each section', () => {
    const r = runCli(['diff', sides.a.bundle, sides.b.bundle]);
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stdout.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/NOT VERIFIED/)).toBeGreaterThan(-1);
    expect(at(/NOT VERIFIED/)).toBeLessThan(at(/^Summary: 1 added, 2 removed, 1 changed, 1 renamed, 0 metadata/));
    const order = [/^Added \(1\)/, /^Removed \(2\)/, /^Changed \(1\)/, /^Renamed \(1\)/, /^Bundle/, /^Result: DIFFERENT/].map(at);
    expect(order.every((n) => n > 0)).toBe(true);
    expect([...order].sort((p, q) => p - q)).toEqual(order);
    expect(r.stdout).toMatch(/~ sbom\/payments-api\.cdx\.json\n\s+before\s+sha256:[0-9a-f]{64}\s+.*\(6536 B\)\n\s+after\s+sha256:[0-9a-f]{64}/);
    expect(r.stdout).toMatch(/> policy\/decision-2026-10-14\.json -> policy\/decision-latest\.json/);
    expect(r.stdout).toMatch(/created\s+2026-10-14T12:00:00Z -> 2026-10-21T12:00:00Z/);
    expect(r.stdout).toContain('signers (claimed, not verified)');
  });

  it('the same evidence exported twice at different times is the same (exit 0), the time change reported', () => {
    const again = join(tempDir(), 'again.tar');
    mustExport({ out: again, inputs: [join(EVIDENCE, 'acme')], createdAt: '2026-12-01T00:00:00Z' });
    const doc = diffJson([sides.a.bundle, again], 0);
    expect(doc.different).toBe(false);
    expect(doc.createdAt).toEqual({ before: '2026-10-14T12:00:00Z', after: '2026-12-01T00:00:00Z' });
    const text = runCli(['diff', sides.a.bundle, again]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/Result: same evidence.*only the creation time or exporter changed/);
  });

  it('flags a tenant change at the top', () => {
    const globex = join(tempDir(), 'globex.tar');
    mustExport({ out: globex, inputs: [join(EVIDENCE, 'globex')], tenant: 'globex', key: KEYS.globex.key });
    const r = runCli(['diff', sides.a.bundle, globex]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n');
    const flag = lines.findIndex((l) => /^!! TENANT CHANGED: acme -> globex/.test(l));
    expect(flag).toBeGreaterThan(-1);
    expect(flag).toBeLessThan(lines.findIndex((l) => l.startsWith('Summary:')));
    expect(diffJson([sides.a.bundle, globex], 1).tenant).toEqual({ before: 'acme', after: 'globex' });
  });

  it('flags a scope change at the top', () => {
    const prod = join(tempDir(), 'prod.tar');
    const staging = join(tempDir(), 'staging.tar');
    mustExport({ out: prod, inputs: [join(EVIDENCE, 'acme')], extra: ['--scope', 'environment=prod'] });
    mustExport({ out: staging, inputs: [join(EVIDENCE, 'acme')], extra: ['--scope', 'environment=staging'] });
    const r = runCli(['diff', prod, staging]);
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n').findIndex((l) => /^!! SCOPE CHANGED: environment=prod -> environment=staging/.test(l))).toBeLessThan(
      r.stdout.split('\n').findIndex((l) => l.startsWith('Summary:')),
    );
  });

  it('a co-signature is a signer change (exit 1) when nothing is verified', () => {
    const cosigned = join(tempDir(), 'cosigned.tar');
    mustRun(['sign', sides.a.bundle, '--key', KEYS.acmeCo.key, '--out', cosigned]);
    const doc = diffJson([sides.a.bundle, cosigned], 1);
    expect(doc.summary).toEqual({ added: 0, removed: 0, changed: 0, renamed: 0, metadata: 0 });
    expect(doc.signers).toEqual({ added: [KEYS.acmeCo.keyid], removed: [] });
  });

  it('--tenant and --at without --trust are a usage error (exit 2)', () => {
    expectCleanFailure(runCli(['diff', sides.a.bundle, sides.b.bundle, '--tenant', 'acme']), 2, /--trust/);
  });
});

describe('diff --trust: both sides verified first', () => {
  const verifiable: Form[] = ['bundle', 'envelope'];
  for (const fa of verifiable) {
    for (const fb of verifiable) {
      it(`${fa} vs ${fb} verifies both and reports the valid signers`, () => {
        const doc = diffJson([sides.a[fa], sides.b[fb], '--trust', trust, '--tenant', 'acme'], 1);
        expectFixtureChanges(doc);
        expect(doc.verified).toBe(true);
        expect(doc.notice).toMatch(/verified/);
        expect(doc.sides.a.signers).toEqual([KEYS.acme.keyid]);
        expect(doc.sides.b.signers).toEqual([KEYS.acme.keyid]);
      });
    }
  }

  it.each([
    ['manifest', 'bundle'],
    ['bundle', 'manifest'],
    ['manifest', 'manifest'],
    ['envelope', 'manifest'],
  ] as Array<[Form, Form]>)('refuses a bare manifest.json (%s vs %s, exit 2)', (fa, fb) => {
    expectCleanFailure(runCli(['diff', sides.a[fa], sides.b[fb], '--trust', trust]), 2, /bare manifest\.json/);
  });

  it('refuses a bundle that does not verify, naming the side and the reason (exit 2)', async () => {
    const work = tempDir();
    const tampered = join(work, 'tampered.tar');
    const entries = await readEntries(sides.a.bundle);
    writeFileSync(
      tampered,
      await packTar(entries.map((e) => ({ name: e.name, data: e.name.startsWith('blobs/') ? Buffer.concat([e.data, Buffer.from('x')]) : e.data }))),
    );
    // Without --trust the manifests still compare (nothing was checked).
    diffJson([tampered, sides.b.bundle], 1);
    expectCleanFailure(runCli(['diff', tampered, sides.b.bundle, '--trust', trust]), 2, /tampered\.tar does not verify.*(checksums|artifacts)/);
    expectCleanFailure(runCli(['diff', sides.a.bundle, tampered, '--trust', trust]), 2, /tampered\.tar does not verify/);
  });

  it('refuses an envelope whose signatures do not meet the threshold (exit 2)', () => {
    const strict = join(tempDir(), 'strict.json');
    copyFileSync(trust, strict);
    mustRun(['trust', 'add', '--trust', strict, '--tenant', 'acme', '--key', KEYS.acmeCo.pub, '--threshold', '2']);
    expectCleanFailure(runCli(['diff', sides.a.envelope, sides.b.bundle, '--trust', strict]), 2, /a-manifest\.dsse\.json does not verify.*signatures: 1 of 2/);
  });

  it('refuses an envelope signed by a key not trusted for its tenant (exit 2)', () => {
    const other = join(tempDir(), 'other.json');
    mustRun(['trust', 'add', '--trust', other, '--tenant', 'acme', '--key', KEYS.globex.pub]);
    expectCleanFailure(runCli(['diff', sides.a.envelope, sides.b.envelope, '--trust', other]), 2, /does not verify/);
  });

  it('refuses sides of another tenant than --tenant (exit 2)', () => {
    expectCleanFailure(runCli(['diff', sides.a.bundle, sides.b.bundle, '--trust', trust, '--tenant', 'globex']), 2, /does not verify.*tenant/);
    expectCleanFailure(runCli(['diff', sides.a.envelope, sides.b.envelope, '--trust', trust, '--tenant', 'globex']), 2, /tenant/);
  });

  it('evaluates key lifetimes at --at', () => {
    const dated = join(tempDir(), 'dated.json');
    mustRun(['trust', 'add', '--trust', dated, '--tenant', 'acme', '--key', KEYS.acme.pub, '--valid-until', '2026-10-31T00:00:00Z']);
    diffJson([sides.a.envelope, sides.b.bundle, '--trust', dated], 1);
    expectCleanFailure(runCli(['diff', sides.a.envelope, sides.b.bundle, '--trust', dated, '--at', '2026-11-01T00:00:00Z']), 2, /expired/);
  });

  it('signer changes are the valid signers: a co-signature by an untrusted key is no change (exit 0)', () => {
    const cosigned = join(tempDir(), 'cosigned.tar');
    mustRun(['sign', sides.a.bundle, '--key', KEYS.acmeCo.key, '--out', cosigned]);
    const same = diffJson([sides.a.bundle, cosigned, '--trust', trust], 0);
    expect(same.signers).toBeNull();
    expect(same.sides.b.signers).toEqual([KEYS.acme.keyid]);

    const both = join(tempDir(), 'both.json');
    copyFileSync(trust, both);
    mustRun(['trust', 'add', '--trust', both, '--tenant', 'acme', '--key', KEYS.acmeCo.pub]);
    const changed = diffJson([sides.a.bundle, cosigned, '--trust', both], 1);
    expect(changed.signers).toEqual({ added: [KEYS.acmeCo.keyid], removed: [] });
    const text = runCli(['diff', sides.a.bundle, cosigned, '--trust', both]);
    expect(text.stdout).toMatch(/valid signers: before/);
    expect(text.stdout).toContain(`+ signer ${KEYS.acmeCo.keyid}`);
    expect(text.stdout).not.toMatch(/NOT VERIFIED/);
  });
});
