import { spawnSync } from './helpers/spawn.js';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_PASSPHRASE, EVIDENCE, expectCleanFailure, HAS_GNU_TAR, KEYS, mustExport, mustRun, runCli } from './helpers/cli.js';
import { expectSchema } from './helpers/schema.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { craftBundle, entryData, envelopeOf, isGzip, loadKey, packTar, rawHeaders, rawSignature, readEntries, spkiBase64 } from './helpers/workflow.js';

afterAll(removeTempDirs);

const CREATED = '2026-11-01T00:00:00Z';
let dir: string;
let single: string; // signed by acme-signer only

beforeAll(() => {
  dir = tempDir('se-approvals-');
  single = join(dir, 'single.tar');
  mustExport({ out: single, inputs: [join(EVIDENCE, 'acme')], createdAt: CREATED });
});

const copy = (src: string, name: string): string => {
  const d = join(tempDir(), name);
  copyFileSync(src, d);
  return d;
};

/** A trust file written through the CLI: each [pubfile, extra flags] added for `tenant`. */
function trustWith(tenant: string, keys: Array<[string, string[]?]>, threshold?: number): string {
  const f = join(tempDir(), 'trust.json');
  keys.forEach(([pub, extra], k) =>
    mustRun(['trust', 'add', '--trust', f, '--tenant', tenant, '--key', pub, ...(extra ?? []), ...(k === 0 && threshold ? ['--threshold', String(threshold)] : [])]),
  );
  return f;
}

const verifyJson = (bundle: string, trust: string, extra: string[] = []) => {
  const r = runCli(['verify', bundle, '--trust', trust, '--json', ...extra]);
  const doc = JSON.parse(r.stdout);
  expectSchema('verify-report', doc);
  return { status: r.status, doc, stderr: r.stderr };
};

describe('trust add --threshold', () => {
  it('a new tenant starts at 1; an add without --threshold leaves it; N above the key count warns', () => {
    const f = join(tempDir(), 'trust.json');
    mustRun(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acme.pub]);
    expect(JSON.parse(readFileSync(f, 'utf8')).tenants.acme.threshold).toBe(1);
    const r = runCli(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acmeCo.pub, '--threshold', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*needs 3 distinct signers.*only 2 key/);
    mustRun(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acmeEncrypted.pub]);
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    expectSchema('trust', doc);
    expect(doc.tenants.acme.threshold).toBe(3);
    expect(doc.tenants.acme.keys).toHaveLength(3);
    // threshold on an already trusted key changes only the threshold
    mustRun(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acme.pub, '--threshold', '2']);
    expect(JSON.parse(readFileSync(f, 'utf8')).tenants.acme).toMatchObject({ threshold: 2 });
    expect(JSON.parse(readFileSync(f, 'utf8')).tenants.acme.keys).toHaveLength(3);
  });

  it.each([['0'], ['-1'], ['1.5'], ['two'], ['1001']])('refuses --threshold %s (exit 2), file unchanged', (n) => {
    const f = trustWith('acme', [[KEYS.acme.pub]]);
    const before = readFileSync(f);
    expectCleanFailure(runCli(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acmeCo.pub, `--threshold=${n}`]), 2, /threshold/);
    expect(readFileSync(f).equals(before)).toBe(true);
  });
});

describe('thresholds count distinct keys', () => {
  it('threshold 2: one signer fails (exit 3) naming the key that did not sign; sign with a second key passes', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub]], 2);
    const v1 = verifyJson(single, trust);
    expect(v1.status).toBe(3);
    expect(v1.doc.threshold).toBe(2);
    expect(v1.doc.signers).toEqual([{ keyid: KEYS.acme.keyid, status: 'valid' }]);
    const line = runCli(['verify', single, '--trust', trust]);
    expectCleanFailure(line, 3, new RegExp(`1 of 2 .*did not sign: ${KEYS.acmeCo.keyid}`));

    const b = copy(single, 'cosigned.tar');
    const s = runCli(['sign', b, '--key', KEYS.acmeCo.key]);
    expect(s.status, s.stderr).toBe(0);
    const v2 = verifyJson(b, trust);
    expect(v2.status, v2.stderr).toBe(0);
    expect(v2.doc.signers).toEqual([
      { keyid: KEYS.acme.keyid, status: 'valid' },
      { keyid: KEYS.acmeCo.keyid, status: 'valid' },
    ]);
  });

  it('duplicate signatures by one key count once and are listed as duplicate', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub]], 2);
    const b = copy(single, 'twice.tar');
    const s = runCli(['sign', b, '--key', KEYS.acme.key]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/already signed.*counts once/);
    expect(envelopeOf(readEnvelopeSync(b)).signatures).toHaveLength(2);
    const v = verifyJson(b, trust);
    expect(v.status).toBe(3);
    expect(v.doc.signers.map((x: { status: string }) => x.status)).toEqual(['valid', 'duplicate']);
  });

  it('a signature relabelled with another trusted key id does not count for that key', async () => {
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub]], 2);
    const signer = loadKey(KEYS.acme.key);
    const b = join(tempDir(), 'relabelled.tar');
    await craftBundle(b, { artifacts: [{ name: 'a.txt', content: 'a' }], signers: [signer] });
    // Replace the envelope: the real signature, the same key's signature claiming the
    // co-signer's id, and one with no keyid at all.
    const entries = await readEntries(b);
    const payload = await entryData(b, 'manifest.json');
    const env = envelopeOf(entries.find((e) => e.name === 'manifest.dsse.json')!.data);
    env.signatures.push(rawSignature(payload, signer, KEYS.acmeCo.keyid) as { keyid: string; sig: string });
    env.signatures.push(rawSignature(payload, signer, undefined) as { keyid: string; sig: string });
    const { canonicalize } = await import('../src/json/canonical.js');
    writeFileSync(
      b,
      await packTar(entries.map((e) => ({ name: e.name, data: e.name === 'manifest.dsse.json' ? Buffer.from(canonicalize(env)) : e.data }))),
    );
    const v = verifyJson(b, trust);
    expect(v.status).toBe(3);
    expect(v.doc.signers).toEqual([
      { keyid: KEYS.acme.keyid, status: 'valid' },
      expect.objectContaining({ keyid: KEYS.acmeCo.keyid, status: 'bad-signature' }),
      expect.objectContaining({ keyid: KEYS.acme.keyid, status: 'duplicate' }),
    ]);
  });

  it('two trust entries for the same key material count once (a threshold of 2 is not met)', () => {
    const f = join(tempDir(), 'dup-trust.json');
    const der = spkiBase64(KEYS.acme.pub);
    writeFileSync(
      f,
      JSON.stringify({
        version: 1,
        tenants: {
          acme: {
            threshold: 2,
            keys: [
              { keyid: KEYS.acme.keyid, publicKey: der, comment: 'first entry' },
              { keyid: KEYS.acme.keyid, publicKey: der, comment: 'same key again' },
            ],
          },
        },
      }),
    );
    const b = copy(single, 'twice.tar');
    mustRun(['sign', b, '--key', KEYS.acme.key]);
    const v = verifyJson(b, f);
    expect(v.status).toBe(3);
    expect(v.doc.signers.filter((x: { status: string }) => x.status === 'valid')).toHaveLength(1);
    const list = JSON.parse(mustRun(['trust', 'list', '--trust', f, '--json']).stdout);
    expectSchema('trust-list', list);
    expect(list.tenants[0].keys).toHaveLength(1);
  });

  it('the same key added from another PEM text (its private key file) is the same key', () => {
    const f = trustWith('acme', [[KEYS.acme.pub]]);
    const r = mustRun(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acme.key]);
    expect(r.stdout).toMatch(/already trusted/);
    expect(JSON.parse(readFileSync(f, 'utf8')).tenants.acme.keys).toHaveLength(1);
  });
});

/** The envelope of a plain tar bundle, read by walking the ustar headers. */
function readEnvelopeSync(bundle: string): Buffer {
  const raw = readFileSync(bundle);
  let off = 0;
  while (off + 512 <= raw.length) {
    const h = raw.subarray(off, off + 512);
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/[\0 ]+$/, ''), 8);
    if (name === 'manifest.dsse.json') return Buffer.from(raw.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('no envelope');
}

describe('key lifetimes, evaluated at the creation time or --at', () => {
  const window = ['--valid-from', '2026-10-01T00:00:00Z', '--valid-until', '2026-11-01T00:00:00Z'];

  it('a key is valid from validFrom to validUntil inclusive', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub, window]]);
    // The bundle was created at 2026-11-01T00:00:00Z: exactly validUntil, still valid.
    const at = verifyJson(single, trust);
    expect(at.status, at.stderr).toBe(0);
    expect(at.doc.evaluatedAt).toBe(CREATED);
    expect(verifyJson(single, trust, ['--at', '2026-10-01T00:00:00Z']).status).toBe(0);
    expect(verifyJson(single, trust, ['--at', '2026-10-15T12:00:00+02:00']).status).toBe(0);

    const late = verifyJson(single, trust, ['--at', '2026-11-01T00:00:01Z']);
    expect(late.status).toBe(3);
    expect(late.doc.evaluatedAt).toBe('2026-11-01T00:00:01Z');
    expect(late.doc.signers).toEqual([{ keyid: KEYS.acme.keyid, status: 'expired', reason: 'expired at 2026-11-01T00:00:00Z' }]);
    expectCleanFailure(runCli(['verify', single, '--trust', trust, '--at', '2026-11-01T00:00:01Z']), 3, new RegExp(`${KEYS.acme.keyid} expired at 2026-11-01T00:00:00Z`));

    const early = verifyJson(single, trust, ['--at', '2026-09-30T23:59:59Z']);
    expect(early.status).toBe(3);
    expect(early.doc.signers[0]).toMatchObject({ status: 'not-yet-valid', reason: 'not valid before 2026-10-01T00:00:00Z' });
  });

  it('a bundle created after its key expired fails by default; --at can only move the evaluation', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub, ['--valid-until', '2026-10-31T23:59:59Z']]]);
    expect(verifyJson(single, trust).status).toBe(3);
    expect(verifyJson(single, trust, ['--at', '2026-10-31T23:59:59Z']).status).toBe(0);
  });

  it('an expired co-signer leaves the threshold unmet; the message names it and why', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub, ['--valid-until', '2026-06-30T00:00:00Z']]], 2);
    const b = copy(single, 'cosigned.tar');
    mustRun(['sign', b, '--key', KEYS.acmeCo.key]);
    expect(verifyJson(b, trust, ['--at', '2026-06-01T00:00:00Z']).status).toBe(0);
    expectCleanFailure(runCli(['verify', b, '--trust', trust]), 3, new RegExp(`1 of 2.*not counted: ${KEYS.acmeCo.keyid} expired at 2026-06-30T00:00:00Z`));
  });

  it('refuses bad times (exit 2)', () => {
    const f = join(tempDir(), 't.json');
    expectCleanFailure(runCli(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acme.pub, '--valid-from', 'yesterday']), 2, /RFC 3339/);
    expectCleanFailure(
      runCli(['trust', 'add', '--trust', f, '--tenant', 'acme', '--key', KEYS.acme.pub, '--valid-from', '2027-01-01T00:00:00Z', '--valid-until', '2026-01-01T00:00:00Z']),
      2,
      /after/,
    );
    const t = trustWith('acme', [[KEYS.acme.pub]]);
    expectCleanFailure(runCli(['verify', single, '--trust', t, '--at', '2026-13-01T00:00:00Z']), 2, /--at/);
  });
});

describe('revocation', () => {
  it('a revoked key never counts, at any time, and the reason is shown', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub]]);
    const r = mustRun(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.acme.keyid, '--reason', 'laptop stolen']);
    expect(r.stdout).toMatch(/revoked/);
    for (const at of [[], ['--at', '2000-01-01T00:00:00Z'], ['--at', '2099-01-01T00:00:00Z']]) {
      const v = verifyJson(single, trust, at);
      expect(v.status).toBe(3);
      expect(v.doc.signers[0]).toMatchObject({ status: 'revoked', reason: expect.stringMatching(/every tenant.*laptop stolen/) });
    }
    // A later add of the same key does not undo the revocation.
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.acme.pub]);
    expect(verifyJson(single, trust).status).toBe(3);
    expect(runCli(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.acme.keyid]).stdout).toMatch(/already revoked/);
  });

  it('--tenant revokes for that tenant only', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub]]);
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.acme.pub]);
    mustRun(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.acme.keyid, '--tenant', 'globex']);
    expect(verifyJson(single, trust).status).toBe(0);
    mustRun(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.acme.keyid, '--tenant', 'acme', '--reason', 'rotated']);
    expect(verifyJson(single, trust).doc.signers[0]).toMatchObject({ status: 'revoked', reason: 'revoked for tenant acme (rotated)' });
  });

  it('when entries for the same key disagree, the revocation wins', () => {
    const f = join(tempDir(), 'disagree.json');
    const der = spkiBase64(KEYS.acme.pub);
    writeFileSync(
      f,
      JSON.stringify({
        version: 1,
        tenants: {
          acme: {
            threshold: 1,
            keys: [
              { keyid: KEYS.acme.keyid, publicKey: der },
              { keyid: KEYS.acme.keyid, publicKey: der, revoked: { reason: 'compromised' } },
            ],
          },
        },
      }),
    );
    const v = verifyJson(single, f);
    expect(v.status).toBe(3);
    expect(v.doc.signers[0].status).toBe('revoked');
  });

  it('an unknown key id is exit 2 and leaves the file unchanged', () => {
    const trust = trustWith('acme', [[KEYS.acme.pub]]);
    const before = readFileSync(trust);
    expectCleanFailure(runCli(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.globex.keyid]), 2, /not in the trust file/);
    expectCleanFailure(runCli(['trust', 'revoke', '--trust', trust, '--keyid', KEYS.acme.keyid, '--tenant', 'globex']), 2, /globex/);
    expectCleanFailure(runCli(['trust', 'revoke', '--trust', trust, '--keyid', 'SHA256:abc']), 2, /keyid/);
    expect(readFileSync(trust).equals(before)).toBe(true);
  });
});

describe('trust list', () => {
  it('shows each tenant with its threshold and every key with its state at the time asked', () => {
    const f = trustWith('acme', [
      [KEYS.acme.pub],
      [KEYS.acmeCo.pub, ['--valid-from', '2026-01-01T00:00:00Z', '--valid-until', '2026-12-31T23:59:59Z']],
      [KEYS.acmeEncrypted.pub, ['--valid-from', '2027-01-01T00:00:00Z']],
    ], 2);
    mustRun(['trust', 'add', '--trust', f, '--tenant', 'globex', '--key', KEYS.globex.pub]);
    mustRun(['trust', 'revoke', '--trust', f, '--keyid', KEYS.globex.keyid, '--tenant', 'globex', '--reason', 'left']);
    const state = (at: string) => {
      const doc = JSON.parse(mustRun(['trust', 'list', '--trust', f, '--json', '--at', at]).stdout);
      expectSchema('trust-list', doc);
      expect(doc.at).toBe(at);
      const m: Record<string, string> = {};
      for (const t of doc.tenants) for (const k of t.keys) m[`${t.tenant}:${k.keyid.slice(0, 8)}`] = k.state;
      return { m, doc };
    };
    const mid = state('2026-06-01T00:00:00Z');
    expect(mid.m).toEqual({
      'acme:1b0b8b2b': 'valid',
      'acme:e897d75e': 'valid',
      'acme:0bb21763': 'not-yet-valid',
      'globex:2c5ce963': 'revoked',
    });
    expect(mid.doc.tenants.map((t: { tenant: string; threshold: number; validKeys: number }) => [t.tenant, t.threshold, t.validKeys])).toEqual([
      ['acme', 2, 2],
      ['globex', 1, 0],
    ]);
    expect(state('2027-06-01T00:00:00Z').m).toMatchObject({ 'acme:e897d75e': 'expired', 'acme:0bb21763': 'valid' });
    const text = mustRun(['trust', 'list', '--trust', f, '--at', '2026-06-01T00:00:00Z']).stdout;
    expect(text).toMatch(/tenant acme\s+threshold 2/);
    expect(text).toMatch(/not-yet-valid\s+0bb21763/);
    expect(text).toMatch(/revoked\s+2c5ce963.*left/);
  });

  it('without --at it lists the states now (a key valid for all time is valid)', () => {
    const f = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub, ['--valid-until', '2000-01-01T00:00:00Z']]]);
    const doc = JSON.parse(mustRun(['trust', 'list', '--trust', f, '--json']).stdout);
    expectSchema('trust-list', doc);
    expect(doc.tenants[0].keys.map((k: { state: string }) => k.state).sort()).toEqual(['expired', 'valid']);
  });
});

describe('sign', () => {
  it('appends one signature; every other entry keeps its name, header fields and content; manifest unchanged', async () => {
    const out = join(tempDir(), 'out.tar');
    const r = runCli(['sign', single, '--key', KEYS.acmeCo.key, '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectSchema('sign-result', doc);
    expect(doc).toMatchObject({ keyid: KEYS.acmeCo.keyid, signatures: 2, alreadySigned: false, gzip: false, tenant: 'acme' });
    const before = await readEntries(single);
    const after = await readEntries(out);
    expect(after.map((e) => e.name)).toEqual(before.map((e) => e.name));
    for (let k = 0; k < before.length; k++) {
      expect(after[k]!.header, before[k]!.name).toEqual(before[k]!.header);
      if (before[k]!.name !== 'manifest.dsse.json') expect(after[k]!.data.equals(before[k]!.data), before[k]!.name).toBe(true);
    }
    const e0 = envelopeOf(before.find((e) => e.name === 'manifest.dsse.json')!.data);
    const e1 = envelopeOf(after.find((e) => e.name === 'manifest.dsse.json')!.data);
    expect(e1.payload).toBe(e0.payload);
    expect(e1.payloadType).toBe(e0.payloadType);
    expect(e1.signatures.slice(0, 1)).toEqual(e0.signatures);
    expect(e1.signatures[1]!.keyid).toBe(KEYS.acmeCo.keyid);
    // the co-signer's key is not added to keys/
    expect(after.filter((e) => e.name.startsWith('keys/')).map((e) => e.name)).toEqual([`keys/${KEYS.acme.keyid}.pub`]);
    // the original is untouched
    expect(envelopeOf(readEnvelopeSync(single)).signatures).toHaveLength(1);
  });

  it('every other entry is byte-identical at the tar level, headers included', () => {
    const out = join(tempDir(), 'out.tar');
    mustRun(['sign', single, '--key', KEYS.acmeCo.key, '--out', out]);
    const a = rawHeaders(single);
    const b = rawHeaders(out);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, h] of a) if (name !== 'manifest.dsse.json') expect(b.get(name)!.equals(h), name).toBe(true);
  });

  it('without --out it replaces the bundle atomically, keeping its mode and leaving no temporary file', () => {
    const b = copy(single, 'inplace.tar');
    chmodSync(b, 0o640);
    const r = runCli(['sign', b, '--key', KEYS.acmeCo.key]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(b).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(b, '..'))).toEqual(['inplace.tar']);
    expect(envelopeOf(readEnvelopeSync(b)).signatures).toHaveLength(2);
  });

  it('keeps a gzip bundle gzip, and the result verifies', async () => {
    const gz = join(tempDir(), 'b.tar.gz');
    mustExport({ out: gz, inputs: [join(EVIDENCE, 'acme')] });
    mustRun(['sign', gz, '--key', KEYS.acmeCo.key]);
    expect(isGzip(readFileSync(gz))).toBe(true);
    expect(envelopeOf(await entryData(gz, 'manifest.dsse.json')).signatures).toHaveLength(2);
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub]], 2);
    expect(verifyJson(gz, trust).status).toBe(0);
  });

  it('an existing --out needs --force (exit 2, nothing written)', () => {
    const work = tempDir();
    const out = join(work, 'exists.tar');
    writeFileSync(out, 'precious');
    expectCleanFailure(runCli(['sign', single, '--key', KEYS.acmeCo.key, '--out', out]), 2, /--force/);
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect(runCli(['sign', single, '--key', KEYS.acmeCo.key, '--out', out, '--force']).status).toBe(0);
    expect(readdirSync(work)).toEqual(['exists.tar']);
    expect(envelopeOf(readEnvelopeSync(out)).signatures).toHaveLength(2);
  });

  it('refuses a bundle that fails its integrity checks (exit 1) and leaves it as it was', async () => {
    const work = tempDir();
    const bad = join(work, 'bad.tar');
    const entries = await readEntries(single);
    writeFileSync(
      bad,
      await packTar(entries.map((e) => ({ name: e.name, data: e.name.startsWith('blobs/') ? Buffer.concat([e.data, Buffer.from('x')]) : e.data }))),
    );
    const before = readFileSync(bad);
    expectCleanFailure(runCli(['sign', bad, '--key', KEYS.acmeCo.key]), 1, /integrity/);
    expect(readFileSync(bad).equals(before)).toBe(true);
    expect(readdirSync(work)).toEqual(['bad.tar']);
  });

  it('signs a bundle it does not trust (integrity only), and an encrypted key with its passphrase', () => {
    const work = tempDir();
    const b = join(work, 'b.tar');
    copyFileSync(single, b);
    const pass = join(work, 'pass');
    writeFileSync(pass, ENCRYPTED_PASSPHRASE + '\n');
    expectCleanFailure(runCli(['sign', b, '--key', KEYS.acmeEncrypted.key]), 2, /passphrase/);
    const r = runCli(['sign', b, '--key', KEYS.acmeEncrypted.key, '--passphrase-file', pass]);
    expect(r.status, r.stderr).toBe(0);
    expect(envelopeOf(readEnvelopeSync(b)).signatures.map((s) => s.keyid)).toEqual([KEYS.acme.keyid, KEYS.acmeEncrypted.keyid]);
  });

  it.skipIf(!HAS_GNU_TAR)('a bundle re-packed by GNU tar still verifies, is signable, and keeps GNU tar\'s headers', () => {
    const work = tempDir();
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    const x = spawnSync('tar', ['-xf', single, '-C', unpacked]);
    expect(x.status, String(x.stderr)).toBe(0);
    const names = [
      'manifest.json',
      'manifest.dsse.json',
      'checksums.sha256',
      ...readdirSync(unpacked).filter((n) => !n.endsWith('.json') && n !== 'checksums.sha256' && n !== 'blobs' && n !== 'keys'),
      ...readdirSync(join(unpacked, 'keys')).map((n) => `keys/${n}`),
      ...readdirSync(join(unpacked, 'blobs', 'sha256')).map((n) => `blobs/sha256/${n}`),
    ];
    const repacked = join(work, 'gnu.tar');
    const c = spawnSync('tar', ['--format=gnu', '--owner=1234', '--group=5678', '--mtime=2030-01-01 00:00:00', '-cf', repacked, '-C', unpacked, ...names]);
    expect(c.status, String(c.stderr)).toBe(0);
    const trust = trustWith('acme', [[KEYS.acme.pub], [KEYS.acmeCo.pub]], 2);
    expect(verifyJson(repacked, trust).status).toBe(3);
    const before = rawHeaders(repacked);
    const r = runCli(['sign', repacked, '--key', KEYS.acmeCo.key]);
    expect(r.status, r.stderr).toBe(0);
    expect(verifyJson(repacked, trust).status).toBe(0);
    const after = rawHeaders(repacked);
    for (const [name, h] of before) if (name !== 'manifest.dsse.json') expect(after.get(name)!.equals(h), name).toBe(true);
    // the envelope's own header kept GNU tar's owner and time
    const env = after.get('manifest.dsse.json')!;
    expect(env.subarray(108, 124).equals(before.get('manifest.dsse.json')!.subarray(108, 124))).toBe(true);
    expect(env.subarray(136, 148).equals(before.get('manifest.dsse.json')!.subarray(136, 148))).toBe(true);
  });
});
