import { spawnSync } from './helpers/spawn.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, HAS_GNU_TAR, KEYS, mustExport, mustRun, runCli, type CliResult } from './helpers/cli.js';
import { canonicalJson, forgeBundle } from './helpers/forge.js';
import { sha256Hex, writeTrustFile } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { blobEntries, blobName, entry, fileEntry, readBundle, rewriteBundle, writeTar, type TarEntry } from './helpers/tar.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

let dir: string;
let plain: string;
let gz: string;
let trust: string;

beforeAll(() => {
  dir = tempDir();
  plain = join(dir, 'acme.tar');
  gz = join(dir, 'acme.tar.gz');
  mustExport({ out: plain, inputs: [join(EVIDENCE, 'acme')], extra: ['--scope', 'environment=prod'] });
  mustExport({ out: gz, inputs: [join(EVIDENCE, 'acme')], extra: ['--scope', 'environment=prod'] });
  // Written directly, not by "trust add": verify must accept any valid trust file.
  trust = writeTrustFile(join(dir, 'trust.json'), { acme: [KEYS.acme.pub], globex: [KEYS.globex.pub] });
});

let n = 0;
const scratch = (suffix = '.tar') => join(dir, `case-${++n}${suffix}`);

const verify = (bundle: string, extra: string[] = [], trustFile = trust): CliResult =>
  runCli(['verify', bundle, '--trust', trustFile, ...extra]);

interface Report {
  verified: boolean;
  exitCode: number;
  tenant: string | null;
  checks: Array<{ name: string; status: string; code: string; category: string; message: string }>;
  signers: Array<{ keyid: string; status: string }>;
}

function report(bundle: string, extra: string[] = [], trustFile = trust): { r: CliResult; doc: Report } {
  const r = verify(bundle, ['--json', ...extra], trustFile);
  const doc = JSON.parse(r.stdout) as Report;
  expectSchema('verify-report', doc);
  expect(doc.exitCode).toBe(r.status);
  expect(doc.verified).toBe(r.status === 0);
  return { r, doc };
}

const failing = (doc: Report) => doc.checks.filter((c) => c.status === 'fail').map((c) => c.name);

/**
 * A tamper case, in one run with --json: the exit code, one clear line on stderr (no
 * stack trace), a report matching its schema, and which checks failed.
 */
async function expectRejected(bundle: string, code: number, failingChecks?: string[], extra: string[] = [], trustFile = trust) {
  const r = verify(bundle, ['--json', ...extra], trustFile);
  expectCleanFailure(r, code, /verification failed/);
  const doc = JSON.parse(r.stdout) as Report;
  expectSchema('verify-report', doc);
  expect(doc.exitCode).toBe(code);
  expect(doc.verified).toBe(false);
  if (failingChecks) expect(failing(doc)).toEqual(failingChecks);
  return doc;
}

const firstBlob = (entries: TarEntry[]) => blobEntries(entries)[0]!;

describe('verify: good bundles', () => {
  it.each([
    ['plain', () => plain, []],
    ['plain, --tenant acme', () => plain, ['--tenant', 'acme']],
    ['gzip', () => gz, []],
    ['gzip, --tenant acme', () => gz, ['--tenant', 'acme']],
  ] as const)('%s: exit 0, every check passes, nothing on stderr', (_label, bundle, extra) => {
    const r = verify(bundle(), [...extra]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/verified/);
    expect(r.stdout).not.toMatch(/FAIL/);
  });

  it('--json report parses, matches schemas/verify-report.schema.json and lists every check', () => {
    const { r, doc } = report(plain, ['--tenant', 'acme']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(doc.verified).toBe(true);
    expect(doc.exitCode).toBe(0);
    expect(doc.tenant).toBe('acme');
    expect(doc.checks.length).toBeGreaterThanOrEqual(8);
    for (const c of doc.checks) {
      expect(typeof c.name).toBe('string');
      expect(c.status).toBe('pass');
      expect(c.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
    const names = doc.checks.map((c) => c.name);
    for (const n of ['archive', 'payload', 'canonical', 'subject', 'checksums', 'signatures', 'tenant']) expect(names).toContain(n);
    expect(doc.signers).toEqual([{ keyid: KEYS.acme.keyid, status: 'valid' }]);
  });

  it('accepts a trust file made by "trust add" just the same', () => {
    const t = join(dir, 'cli-trust.json');
    mustRun(['trust', 'add', '--trust', t, '--tenant', 'acme', '--key', KEYS.acme.pub]);
    expect(verify(plain, [], t).status).toBe(0);
  });

  it('a bundle co-signed by a trusted and an untrusted key verifies (threshold 1)', () => {
    const out = scratch();
    mustExport({ out, inputs: [join(EVIDENCE, 'acme')], extra: ['--key', KEYS.acmeCo.key] });
    const { r, doc } = report(out);
    expect(r.status).toBe(0);
    expect(doc.signers.find((s) => s.keyid === KEYS.acme.keyid)?.status).toBe('valid');
  });

  it('the forging helper itself produces bundles that verify (so the forged failures below are meaningful)', async () => {
    const out = await forgeBundle(plain, scratch(), { signers: [KEYS.acme.key] });
    expect(verify(out).status).toBe(0);
    const outGz = await forgeBundle(gz, scratch('.tar.gz'), { signers: [KEYS.acme.key] });
    expect(verify(outGz).status).toBe(0);
    const reordered = await rewriteBundle(plain, scratch(), (es) => [...es].reverse());
    expect(verify(reordered).status).toBe(0);
  });
});

describe('verify: entry order and GNU tar re-packing', () => {
  it.skipIf(!HAS_GNU_TAR)('a bundle extracted and re-packed with GNU tar in another order (regular files only) verifies', () => {
    const x = join(dir, 'extracted');
    mkdirSync(x);
    expect(spawnSync('tar', ['-xf', plain, '-C', x]).status).toBe(0);
    const listed = spawnSync('tar', ['-tf', plain], { encoding: 'utf8' }).stdout.trim().split('\n');
    const reversed = [...listed].reverse();
    for (const [name, args] of [
      ['repack-pax.tar', ['--format=pax', '-cf']],
      ['repack-gnu.tar', ['--format=gnu', '-cf']],
      ['repack-pax.tar.gz', ['--format=pax', '-czf']],
    ] as const) {
      const out = join(dir, name);
      const r = spawnSync('tar', [...args, out, '-C', x, ...reversed], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout.trim().split('\n')[0]).toBe(reversed[0]);
      const v = verify(out, ['--tenant', 'acme']);
      expect(v.status, `${name}: ${v.stderr}`).toBe(0);
    }
    // "./"-prefixed names, as `tar -C dir ./file` writes them, are the same files.
    const dotted = join(dir, 'repack-dotted.tar');
    expect(spawnSync('tar', ['--format=pax', '-cf', dotted, '-C', x, ...reversed.map((f) => `./${f}`)]).status).toBe(0);
    expect(verify(dotted).status).toBe(0);
  });

  it.skipIf(!HAS_GNU_TAR)('a re-pack that adds directory entries is refused (exit 1): regular files only', () => {
    const x = join(dir, 'extracted-dirs');
    mkdirSync(x);
    expect(spawnSync('tar', ['-xf', plain, '-C', x]).status).toBe(0);
    const out = join(dir, 'with-dirs.tar');
    expect(spawnSync('tar', ['--format=pax', '-cf', out, '-C', x, '.']).status).toBe(0);
    expectCleanFailure(verify(out), 1);
  });
});

describe('verify: tampering is an integrity failure (exit 1)', () => {
  it('one changed byte in a blob', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const b = firstBlob(es);
      b.data = Buffer.from(b.data);
      b.data[10] ^= 0x01;
    });
    await expectRejected(out, 1, ['checksums', 'artifacts']);
  });

  it('one changed byte in a blob of a gzip bundle', async () => {
    const out = await rewriteBundle(gz, scratch('.tar.gz'), (es) => {
      const b = firstBlob(es);
      b.data = Buffer.from(b.data);
      b.data[b.data.length - 2] ^= 0x20;
    });
    await expectRejected(out, 1, ['checksums', 'artifacts']);
  });

  it('a blob replaced by content of another size', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      firstBlob(es).data = Buffer.from('short');
    });
    await expectRejected(out, 1);
  });

  it('a missing blob', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => es.filter((e) => e !== firstBlob(es)));
    await expectRejected(out, 1);
  });

  it.each([['VERIFY.md'], [`keys/${KEYS.acme.keyid}.pub`]])('a missing %s', async (name) => {
    const out = await rewriteBundle(plain, scratch(), (es) => es.filter((e) => e.name !== name));
    await expectRejected(out, 1, ['checksums']);
  });

  it.each([['manifest.json'], ['manifest.dsse.json'], ['checksums.sha256']])('a missing %s', async (name) => {
    const out = await rewriteBundle(plain, scratch(), (es) => es.filter((e) => e.name !== name));
    const doc = await expectRejected(out, 1);
    expect(failing(doc)).toContain('metadata');
  });

  it('an extra file with an arbitrary name', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => [...es, fileEntry('notes.txt', 'hello\n')]);
    await expectRejected(out, 1);
  });

  it('an extra, correctly named blob that nothing lists', async () => {
    const extra = 'smuggled evidence\n';
    const out = await rewriteBundle(plain, scratch(), (es) => [...es, fileEntry(blobName(extra), extra)]);
    await expectRejected(out, 1);
  });

  it('an extra key file', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => [
      ...es,
      fileEntry(`keys/${KEYS.globex.keyid}.pub`, readFileSync(KEYS.globex.pub)),
    ]);
    await expectRejected(out, 1);
  });

  it('a duplicate entry (same name twice, second one different)', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const b = firstBlob(es);
      return [...es, fileEntry(b.name, 'evil twin')];
    });
    await expectRejected(out, 1, ['archive']);
  });

  it.each([['../escape.txt'], ['/etc/evil'], ['blobs/../../x'], ['a//b']])('an unsafe entry name %j', async (name) => {
    const out = await rewriteBundle(plain, scratch(), (es) => [...es, fileEntry(name, 'x')]);
    await expectRejected(out, 1, ['archive']);
  });

  it('a symbolic link entry', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => [
      ...es,
      { name: 'link', data: Buffer.alloc(0), type: 'symlink', mode: 0o777, linkname: '/etc/passwd' } as TarEntry,
    ]);
    await expectRejected(out, 1, ['archive']);
  });

  it('an edited manifest.json (the envelope still carries the original)', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const m = entry(es, 'manifest.json');
      m.data = Buffer.from(m.data.toString('utf8').replace('"environment":"prod"', '"environment":"test"'));
      expect(m.data.toString()).toContain('"environment":"test"');
    });
    await expectRejected(out, 1, ['payload']);
  });

  it('manifest.json and payload replaced by a re-signed but non-canonical (pretty-printed) variant', async () => {
    const out = await forgeBundle(plain, scratch(), { signers: [KEYS.acme.key], serialise: (m) => JSON.stringify(m, null, 2) });
    const doc = await expectRejected(out, 1, ['canonical']);
    // The signature itself is good: what fails is the form, not the key.
    expect(doc.signers).toEqual([{ keyid: KEYS.acme.keyid, status: 'valid' }]);
  });

  it('a re-signed variant with keys out of canonical order', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.acme.key],
      serialise: (m) => JSON.stringify({ predicate: m.predicate, predicateType: m.predicateType, subject: m.subject, _type: m._type }),
    });
    await expectRejected(out, 1, ['canonical']);
  });

  it('a re-signed variant with a duplicate key', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.acme.key],
      serialise: (m) => canonicalJson(m).replace('{"_type":', '{"_type":"x","_type":'),
    });
    await expectRejected(out, 1);
  });

  it('a re-signed canonical manifest that lists an artifact whose blob is absent', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.acme.key],
      edit: (m) => {
        const fake = { ...m.predicate.artifacts[0]!, name: 'zz-fake.json', sha256: sha256Hex('not there'), size: 9 };
        m.predicate.artifacts.push(fake);
        m.predicate.totals = { ...m.predicate.totals, artifacts: m.predicate.totals.artifacts! + 1 };
      },
    });
    await expectRejected(out, 1, ['artifacts']);
  });

  it('checksums.sha256 edited (a digest changed to match a tampered blob)', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const b = firstBlob(es);
      const oldHex = b.name.slice('blobs/sha256/'.length);
      b.data = Buffer.concat([b.data, Buffer.from(' ')]);
      const c = entry(es, 'checksums.sha256');
      c.data = Buffer.from(c.data.toString('utf8').replace(`${oldHex}  ${b.name}`, `${sha256Hex(b.data)}  ${b.name}`));
    });
    await expectRejected(out, 1);
  });

  it('checksums.sha256 edited (one byte, nothing else)', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const c = entry(es, 'checksums.sha256');
      c.data = Buffer.from(c.data.toString('utf8') + '\n');
    });
    await expectRejected(out, 1);
  });

  it('truncated archive (plain, cut in the middle of an entry)', async () => {
    const bytes = readFileSync(plain);
    const out = scratch();
    writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length / 2) + 7));
    await expectRejected(out, 1, ['archive']);
  });

  it('truncated archive (plain, cut at a block boundary before the end-of-archive blocks)', async () => {
    const bytes = readFileSync(plain);
    const out = scratch();
    writeFileSync(out, bytes.subarray(0, bytes.length - 1024 - 512 * 4));
    await expectRejected(out, 1, ['archive']);
  });

  it('truncated archive (gzip)', async () => {
    const bytes = readFileSync(gz);
    const out = scratch('.tar.gz');
    writeFileSync(out, bytes.subarray(0, bytes.length - 100));
    await expectRejected(out, 1, ['archive']);
  });

  it.each([
    ['a text file', Buffer.from('this is not a tar archive\n'.repeat(40))],
    ['a JSON document', Buffer.from('{"manifest": "json"}\n')],
    ['an empty file', Buffer.alloc(0)],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 251))],
    ['gzip of text', gzipSync('not a tar either\n')],
  ])('not a tar at all: %s', async (_label, bytes) => {
    const out = scratch('.tar');
    writeFileSync(out, bytes);
    await expectRejected(out, 1, ['archive']);
  });
});

describe('verify: signatures and trust (exit 3)', () => {
  it('the trust file holds the wrong key for the tenant', async () => {
    const t = writeTrustFile(join(dir, 'wrong-key.json'), { acme: [KEYS.acmeCo.pub] });
    const doc = await expectRejected(plain, 3, ['signatures'], [], t);
    expect(doc.signers.map((s) => s.status)).toEqual(['unknown-key']);
  });

  it('the signer’s key is trusted, but only for another tenant', async () => {
    const t = writeTrustFile(join(dir, 'other-tenant.json'), { globex: [KEYS.acme.pub] });
    await expectRejected(plain, 3, ['signatures'], [], t);
  });

  it('an acme bundle signed with the globex key, both keys trusted for their own tenants', async () => {
    const out = scratch();
    mustExport({ out, inputs: [join(EVIDENCE, 'acme')], key: KEYS.globex.key });
    await expectRejected(out, 3, ['signatures']);
    await expectRejected(out, 3, ['signatures'], ['--tenant', 'acme']);
  });

  it('an altered manifest re-signed by an attacker key the trust file does not hold for acme', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.globex.key],
      edit: (m) => {
        m.predicate.scope = { environment: 'staging' };
      },
    });
    await expectRejected(out, 3, ['signatures']);
  });

  it('a signature with one flipped bit', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const e = entry(es, 'manifest.dsse.json');
      const env = JSON.parse(e.data.toString('utf8'));
      const sig = Buffer.from(env.signatures[0].sig, 'base64');
      sig[5] ^= 0x04;
      env.signatures[0].sig = sig.toString('base64');
      e.data = Buffer.from(canonicalJson(env));
    });
    const doc = await expectRejected(out, 3, ['signatures']);
    expect(doc.signers.map((s) => s.status)).toEqual(['bad-signature']);
  });

  it('an envelope with no signatures at all is malformed (exit 1), never accepted', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => {
      const e = entry(es, 'manifest.dsse.json');
      const env = JSON.parse(e.data.toString('utf8'));
      env.signatures = [];
      e.data = Buffer.from(canonicalJson(env));
    });
    const doc = await expectRejected(out, 1);
    expect(failing(doc)).toContain('envelope');
    expect(doc.signers).toEqual([]);
  });

  it('the key carried inside the bundle is never trusted for being there', async () => {
    // Signed by globex-signer, which the bundle carries in keys/; trust holds only acme-signer.
    const out = scratch();
    mustExport({ out, inputs: [join(EVIDENCE, 'acme')], key: KEYS.globex.key });
    const t = writeTrustFile(join(dir, 'acme-only.json'), { acme: [KEYS.acme.pub] });
    await expectRejected(out, 3, ['signatures'], [], t);
  });
});

describe('verify: tenant context (exit 4)', () => {
  it('--tenant names another tenant', async () => {
    const doc = await expectRejected(plain, 4, ['tenant'], ['--tenant', 'globex']);
    expect(doc.tenant).toBe('acme');
    await expectRejected(gz, 4, ['tenant'], ['--tenant', 'acme-corp']);
  });

  it('an artifact of another tenant inside a validly signed bundle', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.acme.key],
      edit: (m) => {
        m.predicate.artifacts[2]!.tenant = 'globex';
      },
    });
    const doc = await expectRejected(out, 4, ['tenant']);
    expect(doc.checks.find((c) => c.name === 'tenant')?.message).toMatch(/globex/);
  });
});

describe('verify: when several checks fail, integrity > trust > tenant', () => {
  let tamperedBlob: string;
  let untrusted: string;
  beforeAll(async () => {
    tamperedBlob = await rewriteBundle(plain, join(dir, 'prec-blob.tar'), (es) => {
      const b = firstBlob(es);
      b.data = Buffer.from(b.data);
      b.data[0] ^= 0xff;
    });
    untrusted = writeTrustFile(join(dir, 'prec-untrusted.json'), { acme: [KEYS.acmeCo.pub] });
  });

  it('tampered blob + wrong --tenant: 1', async () => {
    const doc = await expectRejected(tamperedBlob, 1, ['checksums', 'artifacts', 'tenant'], ['--tenant', 'globex']);
    expect(doc.exitCode).toBe(1);
  });

  it('untrusted key + wrong --tenant: 3', async () => {
    await expectRejected(plain, 3, ['signatures', 'tenant'], ['--tenant', 'globex'], untrusted);
  });

  it('tampered blob + untrusted key: 1', async () => {
    await expectRejected(tamperedBlob, 1, ['checksums', 'artifacts', 'signatures'], [], untrusted);
  });

  it('tampered blob + untrusted key + wrong --tenant: 1', async () => {
    await expectRejected(tamperedBlob, 1, ['checksums', 'artifacts', 'signatures', 'tenant'], ['--tenant', 'globex'], untrusted);
  });

  it('foreign artifact (tenant) + untrusted signer: 3', async () => {
    const out = await forgeBundle(plain, scratch(), {
      signers: [KEYS.globex.key],
      edit: (m) => {
        m.predicate.artifacts[0]!.tenant = 'globex';
      },
    });
    await expectRejected(out, 3, ['signatures', 'tenant']);
  });
});

describe('verify: human output of a failure', () => {
  it('names the failing check on stdout and says what to do in one stderr line', async () => {
    const out = await rewriteBundle(plain, scratch(), (es) => es.filter((e) => e !== firstBlob(es)));
    const r = verify(out);
    expectCleanFailure(r, 1, /verification failed: .*(missing|listed)/);
    expect(r.stdout).toMatch(/^FAIL/m);
    expect(r.stdout).toMatch(/NOT VERIFIED/);
    expect(r.stdout).not.toMatch(/^verified:/m);
  });

  it('a wrong --tenant says which tenant the bundle belongs to', () => {
    const r = verify(plain, ['--tenant', 'globex']);
    expectCleanFailure(r, 4, /acme.*globex|globex.*acme/);
    expect(r.stdout).toMatch(/NOT VERIFIED/);
  });
});

describe('verify: usage and input errors (exit 2)', () => {
  it('the bundle file does not exist', () => {
    expectCleanFailure(verify(join(dir, 'no-such.tar')), 2, /no-such\.tar/);
  });

  it('the bundle path is a directory', () => {
    expectCleanFailure(verify(dir), 2);
  });

  it('the trust file does not exist', () => {
    expectCleanFailure(verify(plain, [], join(dir, 'no-trust.json')), 2, /no-trust\.json/);
  });

  it.each([
    ['not JSON', 'tenants: acme'],
    ['empty', ''],
    ['truncated JSON', '{"version":1,"tenants":{'],
    ['wrong version', '{"version":2,"tenants":{}}'],
    ['unknown field', '{"version":1,"tenants":{},"trustEverything":true}'],
    ['bad tenant slug', '{"version":1,"tenants":{"ACME":{"threshold":1,"keys":[]}}}'],
    ['duplicate keys', '{"version":1,"version":1,"tenants":{}}'],
  ])('a malformed trust file: %s', (_label, text) => {
    const t = join(dir, `bad-trust-${++n}.json`);
    writeFileSync(t, text);
    expectCleanFailure(verify(plain, [], t), 2, /trust/);
  });

  it('a trust file whose keyid does not match its key', () => {
    const t = join(dir, `keyid-mismatch.json`);
    writeTrustFile(t, { acme: [KEYS.acme.pub] });
    const doc = JSON.parse(readFileSync(t, 'utf8'));
    doc.tenants.acme.keys[0].keyid = KEYS.acmeCo.keyid;
    writeFileSync(t, JSON.stringify(doc));
    expectCleanFailure(verify(plain, [], t), 2, /trust/);
  });

  it('a trust file whose key is not Ed25519 SPKI', () => {
    const t = join(dir, `not-a-key.json`);
    const junk = Buffer.from('not a key at all');
    writeFileSync(t, JSON.stringify({ version: 1, tenants: { acme: { threshold: 1, keys: [{ keyid: sha256Hex(junk), publicKey: junk.toString('base64') }] } } }));
    expectCleanFailure(verify(plain, [], t), 2, /trust/);
  });

  it('an invalid --tenant', () => {
    expectCleanFailure(verify(plain, ['--tenant', 'ACME']), 2, /tenant/);
  });

  it('a missing --trust flag', () => {
    const r = runCli(['verify', plain]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--trust/);
  });
});

describe('verify: the tar writer used by these tests', () => {
  it('writes archives the verifier reads (sanity check for the tamper cases)', async () => {
    const entries = await readBundle(plain);
    const out = scratch();
    writeFileSync(out, await writeTar(entries));
    expect(verify(out).status).toBe(0);
  });
});
