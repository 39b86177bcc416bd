import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREATED_AT,
  ENCRYPTED_PASSPHRASE,
  EVIDENCE,
  expectCleanFailure,
  exportArgs,
  KEYS,
  mustExport,
  mustRun,
  runCli,
  runExport,
} from './helpers/cli.js';
import { sha256Hex, writeTrustFile } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { blobEntries, blobName, entry, isGzip, readBundle, readManifest } from './helpers/tar.js';
import { listDir, removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const ACME = join(EVIDENCE, 'acme');

/** A small input tree: two files in a directory. */
function smallTree(root: string): string {
  const dir = join(root, 'in');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.json'), '{"a":1}\n');
  writeFileSync(join(dir, 'sub', 'b.log'), 'line\n');
  return dir;
}

/** Run an export that must be refused: exit 2, one line, nothing new in the output dir. */
function expectRefused(outDir: string, args: string[], mentions?: RegExp, env?: Record<string, string>) {
  const before = listDir(outDir);
  const r = runCli(args, { env });
  expectCleanFailure(r, 2, mentions);
  expect(listDir(outDir), 'a refused export leaves nothing behind').toEqual(before);
  return r;
}

describe('export: the happy path', () => {
  it('bundles the fixture set; the layout, names and manifest are as specified', async () => {
    const dir = tempDir();
    const out = join(dir, 'acme.tar');
    const r = mustExport({ out, inputs: [ACME] });
    expect(r.stdout).toContain(out);
    const entries = await readBundle(out);
    const names = entries.map((e) => e.name);
    expect(names.slice(0, 3)).toEqual(['manifest.json', 'manifest.dsse.json', 'checksums.sha256']);
    const rest = names.slice(3);
    expect(rest).toEqual([...rest].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(rest).toContain(`keys/${KEYS.acme.keyid}.pub`);
    expect(rest).toContain('VERIFY.md');
    for (const e of entries) expect(e.type).toBe('file');
    const m = await readManifest(out);
    expect(m._type).toBe('https://in-toto.io/Statement/v1');
    expect(m.predicateType).toBe('https://stella-ops.org/evidence-bundle/v1');
    expect(m.subject).toEqual([{ name: 'checksums.sha256', digest: { sha256: sha256Hex(entry(entries, 'checksums.sha256').data) } }]);
    expect(m.predicate.tenant).toBe('acme');
    expect(m.predicate.createdAt).toBe(CREATED_AT);
    expect(m.predicate.exporter.name).toBe('stella-evidence');
    const logical = m.predicate.artifacts.map((a) => a.name);
    expect(logical).toEqual([
      'attestations/payments-api.provenance.dsse.json',
      'attestations/payments-api.sbom-statement.json',
      'audit/events.jsonl',
      'logs/scanner-2026-10-14.log',
      'policy/decision-2026-10-14.json',
      'sbom/copy-of-payments-api.cdx.json',
      'sbom/payments-api.cdx.json',
      'sbom/payments-api.spdx.json',
      'scans/payments-api.sarif.json',
      'vex/acme-advisory.csaf.json',
      'vex/payments-api.openvex.json',
    ]);
    for (const a of m.predicate.artifacts) {
      const content = readFileSync(join(ACME, a.name));
      expect(a.sha256).toBe(sha256Hex(content));
      expect(a.size).toBe(content.length);
      expect(a.tenant).toBe('acme');
      expect(entry(entries, `blobs/sha256/${a.sha256}`).data.equals(content)).toBe(true);
    }
    // checksums.sha256 lists every file except the three metadata files, sorted.
    const lines = entry(entries, 'checksums.sha256').data.toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => l.slice(66))).toEqual(rest);
    for (const l of lines) expect(l.slice(0, 64)).toBe(sha256Hex(entry(entries, l.slice(66)).data));
    // The envelope's payload is exactly manifest.json.
    const env = JSON.parse(entry(entries, 'manifest.dsse.json').data.toString('utf8'));
    expect(Buffer.from(env.payload, 'base64').equals(entry(entries, 'manifest.json').data)).toBe(true);
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(env.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([KEYS.acme.keyid]);
  });

  it('--json matches schemas/export-result.schema.json and agrees with the bundle', async () => {
    const dir = tempDir();
    const out = join(dir, 'acme.tar');
    const doc = JSON.parse(mustExport({ out, inputs: [ACME], extra: ['--json'] }).stdout);
    expectSchema('export-result', doc);
    const manifestBytes = entry(await readBundle(out), 'manifest.json').data;
    expect(doc.manifestSha256).toBe(sha256Hex(manifestBytes));
    expect(doc.bundleBytes).toBe(readFileSync(out).length);
    expect(doc).toMatchObject({ out, tenant: 'acme', createdAt: CREATED_AT, artifacts: 11, blobs: 10, signers: [KEYS.acme.keyid] });
  });

  it('names a file argument by its base name and a directory’s files relative to it', async () => {
    const dir = tempDir();
    const tree = smallTree(dir);
    const single = join(dir, 'single.txt');
    writeFileSync(single, 'one\n');
    const out = join(dir, 'b.tar');
    mustExport({ out, inputs: [tree, single] });
    expect((await readManifest(out)).predicate.artifacts.map((a) => a.name)).toEqual(['a.json', 'single.txt', 'sub/b.log']);
  });

  it('records --scope beside the tenant, never instead of it', async () => {
    const dir = tempDir();
    const out = join(dir, 's.tar');
    mustExport({ out, inputs: [smallTree(dir)], extra: ['--scope', 'environment=prod', '--scope', 'project=payments'] });
    const p = (await readManifest(out)).predicate;
    expect(p.tenant).toBe('acme');
    expect(p.scope).toEqual({ environment: 'prod', project: 'payments' });
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], extra: ['--scope', 'tenant=globex'] }), /scope/);
  });

  it('co-signs with every --key given', async () => {
    const dir = tempDir();
    const out = join(dir, 'co.tar');
    mustExport({ out, inputs: [smallTree(dir)], extra: ['--key', KEYS.acmeCo.key] });
    const env = JSON.parse(entry(await readBundle(out), 'manifest.dsse.json').data.toString('utf8'));
    expect(env.signatures.map((s: { keyid: string }) => s.keyid).sort()).toEqual([KEYS.acme.keyid, KEYS.acmeCo.keyid].sort());
  });
});

describe('export: compression', () => {
  it.each([['b.tar.gz'], ['b.tgz']])('writes gzip when OUT ends %s (magic bytes 1f 8b)', async (name) => {
    const dir = tempDir();
    const out = join(dir, name);
    mustExport({ out, inputs: [smallTree(dir)] });
    expect(isGzip(readFileSync(out))).toBe(true);
    expect((await readBundle(out))[0]!.name).toBe('manifest.json');
  });

  it('writes a plain tar otherwise (first header is manifest.json)', () => {
    const dir = tempDir();
    const out = join(dir, 'b.tar');
    mustExport({ out, inputs: [smallTree(dir)] });
    const bytes = readFileSync(out);
    expect(isGzip(bytes)).toBe(false);
    expect(bytes.subarray(0, 14).toString('latin1')).toBe('manifest.json\0');
    expect(bytes.subarray(257, 262).toString('latin1')).toBe('ustar');
  });

  it('the signed manifest does not depend on compression', async () => {
    const dir = tempDir();
    const tree = smallTree(dir);
    mustExport({ out: join(dir, 'p.tar'), inputs: [tree] });
    mustExport({ out: join(dir, 'z.tgz'), inputs: [tree] });
    const p = entry(await readBundle(join(dir, 'p.tar')), 'manifest.dsse.json').data;
    const z = entry(await readBundle(join(dir, 'z.tgz')), 'manifest.dsse.json').data;
    expect(p.equals(z)).toBe(true);
  });
});

describe('export: content addressing', () => {
  it('stores two identical files once: one blob, two artifacts', async () => {
    const dir = tempDir();
    const tree = join(dir, 'in');
    mkdirSync(join(tree, 'x'), { recursive: true });
    writeFileSync(join(tree, 'one.txt'), 'same bytes\n');
    writeFileSync(join(tree, 'x', 'two.txt'), 'same bytes\n');
    writeFileSync(join(tree, 'other.txt'), 'other bytes\n');
    const out = join(dir, 'dedup.tar');
    mustExport({ out, inputs: [tree] });
    const entries = await readBundle(out);
    const blobs = blobEntries(entries);
    expect(blobs.map((b) => b.name).sort()).toEqual([blobName('other bytes\n'), blobName('same bytes\n')].sort());
    const m = await readManifest(out);
    const same = m.predicate.artifacts.filter((a) => a.sha256 === sha256Hex('same bytes\n'));
    expect(same.map((a) => a.name)).toEqual(['one.txt', 'x/two.txt']);
    expect(m.predicate.totals).toMatchObject({ artifacts: 3, blobs: 2 });
  });

  it('the fixture copy-of-payments-api.cdx.json shares its blob with payments-api.cdx.json', async () => {
    const dir = tempDir();
    const out = join(dir, 'acme.tar');
    mustExport({ out, inputs: [ACME] });
    const m = await readManifest(out);
    const bySha = new Map<string, string[]>();
    for (const a of m.predicate.artifacts) bySha.set(a.sha256, [...(bySha.get(a.sha256) ?? []), a.name]);
    expect([...bySha.values()].filter((v) => v.length > 1)).toEqual([['sbom/copy-of-payments-api.cdx.json', 'sbom/payments-api.cdx.json']]);
    expect(blobEntries(await readBundle(out))).toHaveLength(10);
  });
});

describe('export: creation time', () => {
  it('uses SOURCE_DATE_EPOCH when --created-at is absent', async () => {
    const dir = tempDir();
    const out = join(dir, 'sde.tar');
    const epoch = Date.UTC(2026, 10, 1) / 1000;
    mustExport({ out, inputs: [smallTree(dir)], createdAt: null }, { env: { SOURCE_DATE_EPOCH: String(epoch) } });
    expect((await readManifest(out)).predicate.createdAt).toBe('2026-11-01T00:00:00Z');
    // The tar headers carry the same time, not the clock's.
    const bytes = readFileSync(out);
    expect(parseInt(bytes.subarray(136, 147).toString('latin1'), 8)).toBe(epoch);
  });

  it('--created-at wins over SOURCE_DATE_EPOCH', async () => {
    const dir = tempDir();
    const out = join(dir, 'both.tar');
    mustExport({ out, inputs: [smallTree(dir)], createdAt: '2026-12-24T18:30:00Z' }, { env: { SOURCE_DATE_EPOCH: '1000000000' } });
    expect((await readManifest(out)).predicate.createdAt).toBe('2026-12-24T18:30:00Z');
  });

  it('normalises an offset to UTC: 2026-11-01T02:00:00+02:00 is 2026-11-01T00:00:00Z, byte for byte', async () => {
    const dir = tempDir();
    const tree = smallTree(dir);
    mustExport({ out: join(dir, 'off.tar'), inputs: [tree], createdAt: '2026-11-01T02:00:00+02:00' });
    mustExport({ out: join(dir, 'z.tar'), inputs: [tree], createdAt: '2026-11-01T00:00:00Z' });
    expect((await readManifest(join(dir, 'off.tar'))).predicate.createdAt).toBe('2026-11-01T00:00:00Z');
    expect(readFileSync(join(dir, 'off.tar')).equals(readFileSync(join(dir, 'z.tar')))).toBe(true);
  });

  it.each([['2026-11-01T00:00:00.5Z'], ['2026-11-01T00:00:00.000Z'], ['2026-11-01'], ['yesterday'], ['2026-02-30T00:00:00Z'], ['1969-12-31T23:59:59Z'], ['2242-03-16T12:56:32Z']])(
    'refuses --created-at %j (exit 2)',
    (t) => {
      const dir = tempDir();
      expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], createdAt: t }), /created-at|time/);
    },
  );

  it('refuses a malformed SOURCE_DATE_EPOCH (exit 2)', () => {
    const dir = tempDir();
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], createdAt: null }), /SOURCE_DATE_EPOCH/, {
      SOURCE_DATE_EPOCH: '1.5',
    });
  });
});

describe('export: refusals (exit 2, no output file)', () => {
  it('no tenant: there is no default tenant', () => {
    const dir = tempDir();
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], tenant: null }), /tenant/);
  });

  it.each([['Acme'], ['-x'], ['a'.repeat(64)], ['acme corp'], ['_acme'], ['acme/x'], ['ácme']])('tenant id %j', (tenant) => {
    const dir = tempDir();
    const args = exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], tenant: null });
    args.splice(1, 0, `--tenant=${tenant}`);
    expectRefused(dir, args, /tenant/);
  });

  it('-x given as a separate argument to --tenant is still refused', () => {
    const dir = tempDir();
    const r = runCli(exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], tenant: '-x' }));
    expect(r.status).toBe(2);
    expect(listDir(dir)).toEqual([]);
  });

  it('two --tenant flags: mixing tenants is refused as a tenant violation (exit 4), naming both', () => {
    const dir = tempDir();
    const r = runCli(exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], extra: ['--tenant', 'globex'] }));
    expectCleanFailure(r, 4, /acme, globex/);
    expect(listDir(dir)).toEqual([]);
  });

  it('accepts the longest valid slug (63 characters)', async () => {
    const dir = tempDir();
    const tenant = '0' + 'a.b_c-'.repeat(10) + 'xy';
    expect(tenant).toHaveLength(63);
    const out = join(dir, 'long.tar');
    mustExport({ out, inputs: [smallTree(dir)], tenant });
    expect((await readManifest(out)).predicate.tenant).toBe(tenant);
  });

  it('no key', () => {
    const dir = tempDir();
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], key: null }), /key/);
  });

  it('a key file that does not exist or is not a private key', () => {
    const dir = tempDir();
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], key: join(dir, 'none.key') }), /none\.key/);
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], key: KEYS.acme.pub }), /acme-signer\.pub/);
  });

  it('an input path that does not exist', () => {
    const dir = tempDir();
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME, join(dir, 'missing')] }), /missing/);
  });

  it('no input path at all', () => {
    const dir = tempDir();
    const r = runCli(exportArgs({ out: join(dir, 'x.tar'), inputs: [] }));
    expect(r.status).toBe(2);
    expect(listDir(dir)).toEqual([]);
  });

  describe('symbolic links', () => {
    let dir: string;
    let tree: string;
    beforeAll(() => {
      dir = tempDir();
      tree = smallTree(dir);
      writeFileSync(join(dir, 'target.txt'), 'linked content\n');
      symlinkSync(join(dir, 'target.txt'), join(tree, 'link.txt'));
      symlinkSync(join(dir, 'target.txt'), join(dir, 'toplink.txt'));
    });

    it('a symlink inside a directory input is refused', () => {
      expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [tree] }), /link\.txt.*symbolic link|symbolic link.*link\.txt/);
    });

    it('a symlink given as an input is refused', () => {
      expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'toplink.txt')] }), /symbolic link/);
    });

    it('--follow-symlinks exports what the link points to, under the link’s name', async () => {
      const out = join(dir, 'follow.tar');
      mustExport({ out, inputs: [tree, join(dir, 'toplink.txt')], extra: ['--follow-symlinks'] });
      const m = await readManifest(out);
      const link = m.predicate.artifacts.find((a) => a.name === 'link.txt');
      expect(link?.sha256).toBe(sha256Hex('linked content\n'));
      expect(m.predicate.artifacts.map((a) => a.name)).toEqual(['a.json', 'link.txt', 'sub/b.log', 'toplink.txt']);
    });
  });

  it('two inputs with the same logical name', () => {
    const dir = tempDir();
    for (const d of ['d1', 'd2']) {
      mkdirSync(join(dir, d));
      writeFileSync(join(dir, d, 'x.json'), `{"from":"${d}"}`);
    }
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'd1'), join(dir, 'd2')] }), /x\.json/);
    // A file argument and a directory's file collide the same way.
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'd1', 'x.json'), join(dir, 'd2')] }), /x\.json/);
  });

  it('two inputs whose names are equal only after NFC normalisation (café NFC vs NFD)', () => {
    const dir = tempDir();
    const nfc = 'caf\u00e9.json';
    const nfd = 'cafe\u0301.json';
    expect(nfc).not.toBe(nfd);
    mkdirSync(join(dir, 'd1'));
    mkdirSync(join(dir, 'd2'));
    writeFileSync(join(dir, 'd1', nfc), '{"form":"nfc"}');
    writeFileSync(join(dir, 'd2', nfd), '{"form":"nfd"}');
    expect(listDir(join(dir, 'd2'))).toEqual([nfd]); // the file system kept the NFD bytes
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'd1'), join(dir, 'd2')] }), /caf/);
    // Even within one directory.
    writeFileSync(join(dir, 'd1', nfd), '{"form":"nfd"}');
    expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'd1')] }), /caf/);
  });

  it('within one directory, a name that normalises to a plain-ASCII name already listed (U+212A KELVIN SIGN is "K")', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    expect('\u212a.txt'.normalize('NFC')).toBe('K.txt');
    // Listed after it in byte order, and in a later directory, so the ASCII names came first.
    writeFileSync(join(dir, 'in', 'sub', 'K.txt'), 'ascii');
    writeFileSync(join(dir, 'in', 'sub', '\u212a.txt'), 'kelvin');
    const r = expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [join(dir, 'in')] }), /same name "sub\/K\.txt"/);
    expect(r.stderr).toContain(join(dir, 'in', 'sub', 'K.txt'));
  });

  it('stores an NFD file name in NFC form', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'cafe\u0301.json'), '{}');
    const out = join(dir, 'nfc.tar');
    mustExport({ out, inputs: [join(dir, 'in')] });
    expect((await readManifest(out)).predicate.artifacts.map((a) => a.name)).toEqual(['caf\u00e9.json']);
  });

  it('an output in a directory that does not exist: one line naming it, exit 2, not an internal error', () => {
    const dir = tempDir();
    const out = join(dir, 'missing', 'x.tar');
    const r = runCli(exportArgs({ out, inputs: [ACME] }));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`stella-evidence: cannot write ${out}: the directory ${join(dir, 'missing')} does not exist; create it or choose another path\n`);
    expect(listDir(dir)).toEqual([]);
  });

  it('an existing output without --force (left untouched); with --force it is replaced', () => {
    const dir = tempDir();
    const out = join(dir, 'x.tar');
    writeFileSync(out, 'precious earlier file');
    expectRefused(dir, exportArgs({ out, inputs: [ACME] }), /already exists.*--force/);
    expect(readFileSync(out, 'utf8')).toBe('precious earlier file');
    mustExport({ out, inputs: [ACME], extra: ['--force'] });
    expect(readFileSync(out).subarray(0, 13).toString()).toBe('manifest.json');
    expect(listDir(dir)).toEqual(['x.tar']);
  });

  describe('encrypted keys', () => {
    it('without a passphrase', () => {
      const dir = tempDir();
      expectRefused(dir, exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], key: KEYS.acmeEncrypted.key }), /encrypted/);
    });

    it('with a wrong passphrase (file or environment), never echoing it', () => {
      const dir = tempDir();
      const pp = join(dir, 'pp');
      writeFileSync(pp, 'wrong horse battery staple\n');
      const before = listDir(dir);
      for (const [extra, env] of [
        [['--passphrase-file', pp], undefined],
        [[], { STELLA_EVIDENCE_PASSPHRASE: 'wrong horse battery staple' }],
      ] as const) {
        const r = runCli(exportArgs({ out: join(dir, 'x.tar'), inputs: [ACME], key: KEYS.acmeEncrypted.key, extra }), { env });
        expectCleanFailure(r, 2, /passphrase/);
        expect(r.stdout + r.stderr).not.toContain('wrong horse');
        expect(listDir(dir)).toEqual(before);
      }
    });

    it('with the right passphrase from a file or STELLA_EVIDENCE_PASSPHRASE: same bundle, verifiable', () => {
      const dir = tempDir();
      const pp = join(dir, 'pp');
      writeFileSync(pp, ENCRYPTED_PASSPHRASE + '\n');
      const a = mustExport({ out: join(dir, 'a.tar'), inputs: [ACME], key: KEYS.acmeEncrypted.key, extra: ['--passphrase-file', pp] });
      const b = mustExport(
        { out: join(dir, 'b.tar'), inputs: [ACME], key: KEYS.acmeEncrypted.key },
        { env: { STELLA_EVIDENCE_PASSPHRASE: ENCRYPTED_PASSPHRASE } },
      );
      for (const r of [a, b]) expect(r.stdout + r.stderr).not.toContain('battery');
      expect(readFileSync(join(dir, 'a.tar')).equals(readFileSync(join(dir, 'b.tar')))).toBe(true);
      const trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acmeEncrypted.pub] });
      expect(runCli(['verify', join(dir, 'a.tar'), '--trust', trust]).status).toBe(0);
    });
  });
});

describe('export: a failed export never damages what is there', () => {
  it('an earlier bundle at OUT stays byte-identical when a later --force export is refused', () => {
    const dir = tempDir();
    const out = join(dir, 'acme.tar');
    mustExport({ out, inputs: [ACME] });
    const before = readFileSync(out);
    for (const a of [
      { out, inputs: [ACME, join(dir, 'missing')], extra: ['--force'] },
      { out, inputs: [ACME], key: KEYS.acmeEncrypted.key, extra: ['--force'] },
      { out, inputs: [ACME], createdAt: '2026-11-01T00:00:00.1Z', extra: ['--force'] },
      { out, inputs: [ACME], tenant: 'Acme', extra: ['--force'] },
    ]) {
      expectCleanFailure(runExport(a), 2);
      expect(readFileSync(out).equals(before)).toBe(true);
      expect(listDir(dir)).toEqual(['acme.tar']);
    }
  });

  // /proc/self/io reports the bytes this process has read so far, so its content differs
  // between the hashing pass and the writing pass: a deterministic "input changed while
  // being exported", which fails after the temporary output file has been created.
  const HAS_PROC_IO = existsSync('/proc/self/io');

  it.skipIf(!HAS_PROC_IO)('an input that changes mid-export fails with exit 2, no temp file, earlier OUT untouched', () => {
    const dir = tempDir();
    for (const name of ['acme.tar', 'acme.tar.gz']) {
      const out = join(dir, name);
      mustExport({ out, inputs: [ACME] });
      const before = readFileSync(out);
      const r = runExport({ out, inputs: [ACME, '/proc/self/io'], extra: ['--force'] });
      expectCleanFailure(r, 2, /changed while/);
      expect(readFileSync(out).equals(before)).toBe(true);
    }
    expect(listDir(dir)).toEqual(['acme.tar', 'acme.tar.gz']);
    // Without --force and no earlier file: no output at all.
    expectCleanFailure(runExport({ out: join(dir, 'new.tar'), inputs: ['/proc/self/io'] }), 2, /changed while/);
    expect(listDir(dir)).toEqual(['acme.tar', 'acme.tar.gz']);
  });

  it('a bundle produced after such failures still verifies', () => {
    const dir = tempDir();
    const out = join(dir, 'ok.tar');
    mustExport({ out, inputs: [ACME] });
    const trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub] });
    mustRun(['verify', out, '--trust', trust, '--tenant', 'acme']);
  });
});
