import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, mustExport, mustRun, runCli } from './helpers/cli.js';
import { expectSchema } from './helpers/schema.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { craftBundle, entryData, loadKey, packTar, readEntries } from './helpers/workflow.js';

afterAll(removeTempDirs);

/** Every regular file under `dir`, as sorted relative paths. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    expect(st.isSymbolicLink(), `${p} is a link`).toBe(false);
    if (st.isDirectory()) out.push(...walk(p, base));
    else {
      expect(st.isFile(), `${p} is not a regular file`).toBe(true);
      out.push(relative(base, p));
    }
  }
  return out.sort();
}

let dir: string;
let bundle: string;
let gzBundle: string;
let trust: string;

beforeAll(() => {
  dir = tempDir('se-reviewer-');
  bundle = join(dir, 'acme.tar');
  gzBundle = join(dir, 'acme.tar.gz');
  trust = join(dir, 'trust.json');
  mustExport({ out: bundle, inputs: [join(EVIDENCE, 'acme')] });
  mustExport({ out: gzBundle, inputs: [join(EVIDENCE, 'acme')] });
  mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
});

describe('extract', () => {
  it('verifies, then writes every artifact under its logical name with the exported bytes', () => {
    for (const b of [bundle, gzBundle]) {
      const work = tempDir();
      const to = join(work, 'evidence');
      const r = runCli(['extract', b, '--trust', trust, '--tenant', 'acme', '--to', to]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/PASS\s+signatures/);
      expect(r.stdout).toMatch(/extracted 11 artifact\(s\)/);
      const want = walk(join(EVIDENCE, 'acme'));
      expect(walk(to)).toEqual(want);
      for (const f of want) expect(readFileSync(join(to, f)).equals(readFileSync(join(EVIDENCE, 'acme', f))), f).toBe(true);
      // Nothing but the target appeared beside it (no staging directory left).
      expect(readdirSync(work)).toEqual(['evidence']);
    }
  });

  it('extracts into an existing empty directory', () => {
    const to = join(tempDir(), 'empty');
    mkdirSync(to);
    const r = runCli(['extract', bundle, '--trust', trust, '--to', to]);
    expect(r.status, r.stderr).toBe(0);
    expect(walk(to)).toHaveLength(11);
  });

  it('refuses a target that is not empty, is a file or is a symbolic link (exit 2), touching nothing', () => {
    const work = tempDir();
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    expectCleanFailure(runCli(['extract', bundle, '--trust', trust, '--to', full]), 2, /not empty/);
    expect(readdirSync(full)).toEqual(['keep.txt']);

    const file = join(work, 'file');
    writeFileSync(file, 'x');
    expectCleanFailure(runCli(['extract', bundle, '--trust', trust, '--to', file]), 2, /not a directory/);

    const real = join(work, 'real');
    mkdirSync(real);
    const link = join(work, 'link');
    symlinkSync(real, link);
    expectCleanFailure(runCli(['extract', bundle, '--trust', trust, '--to', link]), 2, /symbolic link/);
    expect(readdirSync(real)).toEqual([]);

    expectCleanFailure(runCli(['extract', bundle, '--trust', trust, '--to', join(work, 'no', 'such', 'parent')]), 2, /parent/);
    expect(readdirSync(work).sort()).toEqual(['file', 'full', 'link', 'real']);
  });

  it('writes nothing when verification fails, with the same exit codes as verify', async () => {
    const work = tempDir();
    // integrity: one blob altered
    const tampered = join(work, 'tampered.tar');
    const entries = await readEntries(bundle);
    const blob = entries.find((e) => e.name.startsWith('blobs/'))!;
    writeFileSync(
      tampered,
      await packTar(entries.map((e) => ({ name: e.name, data: e === blob ? Buffer.concat([e.data, Buffer.from('!')]) : e.data }))),
    );
    const cases: Array<[string[], number]> = [
      [[tampered, '--trust', trust], 1],
      [[bundle, '--trust', writeTrustFor(work, 'globex', KEYS.globex.pub)], 3],
      [[bundle, '--trust', trust, '--tenant', 'globex'], 4],
    ];
    for (const [args, code] of cases) {
      const to = join(work, `out-${code}`);
      const v = runCli(['verify', ...args]);
      const r = runCli(['extract', ...args, '--to', to]);
      expect(v.status).toBe(code);
      expectCleanFailure(r, code, /nothing was extracted/);
      expect(existsSync(to), `exit ${code} left ${to}`).toBe(false);
    }
    expect(readdirSync(work).filter((n) => n.startsWith('out-') || n.startsWith('.'))).toEqual([]);
  });
});

function writeTrustFor(work: string, tenant: string, pub: string): string {
  const f = join(work, `trust-${tenant}.json`);
  mustRun(['trust', 'add', '--trust', f, '--tenant', tenant, '--key', pub]);
  return f;
}

describe('extraction attacks: validly signed manifests with hostile names', () => {
  const signer = () => loadKey(KEYS.acme.key);

  /** Extract a crafted bundle; assert exit 1 and that nothing at all was written. */
  async function expectRefused(artifacts: Array<{ name: string; content: string }>, mentions: RegExp, extra?: Array<{ name: string; data: Buffer }>) {
    const work = tempDir('se-attack-');
    const b = join(work, 'b.tar');
    await craftBundle(b, { artifacts, signers: [signer()], extraEntries: extra });
    const before = readdirSync(work).sort();
    const to = join(work, 'sub', 'out');
    mkdirSync(join(work, 'sub'));
    const r = runCli(['extract', b, '--trust', trust, '--to', to]);
    expectCleanFailure(r, 1, mentions);
    expect(readdirSync(join(work, 'sub'))).toEqual([]);
    expect(readdirSync(work).sort()).toEqual([...before, 'sub'].sort());
    return r;
  }

  it('a crafted bundle with ordinary names extracts (the crafting itself is sound)', async () => {
    const work = tempDir();
    const b = join(work, 'ok.tar');
    await craftBundle(b, { artifacts: [{ name: 'a/b.txt', content: 'b' }, { name: 'A.txt', content: 'a' }], signers: [signer()] });
    const r = runCli(['extract', b, '--trust', trust, '--to', join(work, 'out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(walk(join(work, 'out'))).toEqual(['A.txt', 'a/b.txt']);
  });

  it.each([
    ['../escape.txt'],
    ['a/../../escape.txt'],
    ['/etc/escape.txt'],
    ['C:/escape.txt'],
    ['a\\..\\..\\escape.txt'],
    ['./a.txt'],
    ['a//b.txt'],
    ['a\u0000b'],
  ])('refuses the name %j (exit 1)', async (name) => {
    await expectRefused([{ name, content: 'x' }, { name: 'fine.txt', content: 'y' }], /unsafe|escape/);
  });

  it('refuses names that differ only in case (same file on a case-insensitive file system)', async () => {
    await expectRefused(
      [
        { name: 'reports/README.md', content: 'one' },
        { name: 'reports/readme.md', content: 'two' },
      ],
      /README\.md.*readme\.md|readme\.md.*README\.md/,
    );
  });

  it('refuses directories that differ only in case', async () => {
    await expectRefused(
      [
        { name: 'Logs/a.log', content: 'one' },
        { name: 'logs/b.log', content: 'two' },
      ],
      /Logs.*logs|logs.*Logs/,
    );
  });

  it('refuses names that meet after full case folding (ß and SS)', async () => {
    await expectRefused(
      [
        { name: 'straße.txt', content: 'one' },
        { name: 'STRASSE.txt', content: 'two' },
      ],
      /collid|same file/,
    );
  });

  it('refuses a name that is not NFC (it would collide with its NFC form on a normalising file system)', async () => {
    await expectRefused(
      [
        { name: 'caf\u00e9.txt', content: 'nfc' },
        { name: 'cafe\u0301.txt', content: 'nfd' },
      ],
      /NFC/,
    );
  });

  it('refuses a file whose name another artifact needs as a directory', async () => {
    await expectRefused(
      [
        { name: 'sbom', content: 'a file' },
        { name: 'sbom/app.cdx.json', content: '{}' },
      ],
      /directory/,
    );
    await expectRefused(
      [
        { name: 'SBOM', content: 'a file' },
        { name: 'sbom/app.cdx.json', content: '{}' },
      ],
      /directory/,
    );
  });

  it('refuses a tar entry named outside the bundle, even one no artifact points to', async () => {
    await expectRefused([{ name: 'fine.txt', content: 'y' }], /unsafe entry name/, [{ name: '../outside.txt', data: Buffer.from('x') }]);
  });
});

describe('inspect', () => {
  it('shows tenant, scope, creation time, signers, artifacts and totals, and says nothing was verified', () => {
    const r = runCli(['inspect', bundle]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/NOTHING WAS VERIFIED/);
    expect(lines[lines.length - 1]).toMatch(/NOT VERIFIED/);
    expect(r.stdout).toMatch(/tenant\s+acme/);
    expect(r.stdout).toContain('2026-11-01T00:00:00Z');
    expect(r.stdout).toContain(KEYS.acme.keyid);
    expect(r.stdout).toMatch(/artifacts\s+11 \(10 distinct blobs/);
    expect(r.stdout).toContain('sbom/payments-api.cdx.json');
  });

  it('--json matches schemas/inspect-report.schema.json, with verified false and a notice', () => {
    const r = runCli(['inspect', gzBundle, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectSchema('inspect-report', doc);
    expect(doc.verified).toBe(false);
    expect(doc.notice).toMatch(/NOTHING WAS VERIFIED/);
    expect(doc).toMatchObject({ tenant: 'acme', createdAt: '2026-11-01T00:00:00Z', form: 'bundle', signers: [{ keyid: KEYS.acme.keyid }] });
    expect(doc.totals).toEqual({ artifacts: 11, blobs: 10, bytes: doc.artifacts.reduce((n: number, a: { size: number }) => n + a.size, 0) });
  });

  it('needs no trust file and shows what a tampered bundle claims, still marked unverified', async () => {
    const work = tempDir();
    const forged = join(work, 'forged.tar');
    await craftBundle(forged, { tenant: 'globex', artifacts: [{ name: 'x.txt', content: 'x' }], signers: [loadKey(KEYS.acme.key)] });
    const r = runCli(['inspect', forged, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ verified: false, tenant: 'globex' });
    // verify refuses what inspect merely shows.
    expect(runCli(['verify', forged, '--trust', trust]).status).toBe(3);
  });

  it('shows the manifest of a bundle byte for byte (its digest is that of manifest.json)', async () => {
    const { createHash } = await import('node:crypto');
    const doc = JSON.parse(runCli(['inspect', bundle, '--json']).stdout);
    expect(doc.manifestSha256).toBe(createHash('sha256').update(await entryData(bundle, 'manifest.json')).digest('hex'));
  });

  it('an unreadable input is exit 2', () => {
    expectCleanFailure(runCli(['inspect', join(dir, 'missing.tar')]), 2, /missing\.tar/);
  });
});
