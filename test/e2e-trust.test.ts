import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE, expectCleanFailure, KEYS, mustExport, mustRun, runCli } from './helpers/cli.js';
import { spkiDer } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { listDir, removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const trustAdd = (trust: string, tenant: string | null, key: string, extra: string[] = []) =>
  runCli(['trust', 'add', '--trust', trust, ...(tenant === null ? [] : ['--tenant', tenant]), '--key', key, ...extra]);

describe('trust add', () => {
  it('creates the trust file with the key under the tenant, valid against schemas/trust.schema.json', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    const r = trustAdd(trust, 'acme', KEYS.acme.pub);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(KEYS.acme.keyid);
    const doc = JSON.parse(readFileSync(trust, 'utf8'));
    expectSchema('trust', doc);
    expect(doc).toEqual({
      version: 1,
      tenants: { acme: { threshold: 1, keys: [{ keyid: KEYS.acme.keyid, publicKey: spkiDer(KEYS.acme.pub).toString('base64') }] } },
    });
  });

  it('adding the same key twice is idempotent: exit 0, file byte-identical', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    expect(trustAdd(trust, 'acme', KEYS.acme.pub).status).toBe(0);
    const before = readFileSync(trust);
    const again = trustAdd(trust, 'acme', KEYS.acme.pub);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already trusted/);
    expect(readFileSync(trust).equals(before)).toBe(true);
    // The same key given as its private key file is the same key, still not duplicated.
    expect(trustAdd(trust, 'acme', KEYS.acme.key).status).toBe(0);
    expect(readFileSync(trust).equals(before)).toBe(true);
  });

  it('keeps several tenants and keys apart, and --json matches what was added', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.globex.pub]);
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acmeCo.pub]);
    const r = mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub, '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ added: true, keyid: KEYS.acme.keyid, tenant: 'acme', trust });
    const doc = JSON.parse(readFileSync(trust, 'utf8'));
    expectSchema('trust', doc);
    expect(Object.keys(doc.tenants).sort()).toEqual(['acme', 'globex']);
    expect(doc.tenants.acme.keys.map((k: { keyid: string }) => k.keyid).sort()).toEqual([KEYS.acme.keyid, KEYS.acmeCo.keyid].sort());
    expect(doc.tenants.globex.keys.map((k: { keyid: string }) => k.keyid)).toEqual([KEYS.globex.keyid]);
  });

  it.each([['Acme'], ['-x'], ['a'.repeat(64)], ['acme corp'], ['.acme'], ['acme/x'], ['']])(
    'refuses the tenant id %j (exit 2) and creates no file',
    (tenant) => {
      const dir = tempDir();
      const trust = join(dir, 'trust.json');
      const r = runCli(['trust', 'add', '--trust', trust, `--tenant=${tenant}`, '--key', KEYS.acme.pub]);
      expectCleanFailure(r, 2, /tenant/);
      expect(existsSync(trust)).toBe(false);
    },
  );

  it('refuses a missing --tenant (exit 2): there is no default tenant', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    expectCleanFailure(trustAdd(trust, null, KEYS.acme.pub), 2, /tenant/);
    expect(existsSync(trust)).toBe(false);
  });

  it('accepts a 63-character tenant id (the longest slug)', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    const tenant = 'a' + 'b'.repeat(62);
    expect(trustAdd(trust, tenant, KEYS.acme.pub).status).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(trust, 'utf8')).tenants)).toEqual([tenant]);
  });

  describe('bad key files (exit 2, trust file unchanged)', () => {
    let dir: string;
    let trust: string;
    let before: Buffer;
    beforeAll(() => {
      dir = tempDir();
      trust = join(dir, 'trust.json');
      mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
      before = readFileSync(trust);
    });

    it('a missing key file', () => {
      expectCleanFailure(trustAdd(trust, 'acme', join(dir, 'missing.pub')), 2, /missing\.pub/);
      expect(readFileSync(trust).equals(before)).toBe(true);
    });

    it('a file that is not PEM', () => {
      const f = join(dir, 'garbage.pub');
      writeFileSync(f, 'this is not a key\n');
      expectCleanFailure(trustAdd(trust, 'acme', f), 2, /garbage\.pub/);
      expect(readFileSync(trust).equals(before)).toBe(true);
    });

    it('a PEM with a damaged body', () => {
      const f = join(dir, 'damaged.pub');
      writeFileSync(f, readFileSync(KEYS.acme.pub, 'utf8').replace(/MCow/, 'MCo!'));
      expectCleanFailure(trustAdd(trust, 'acme', f), 2);
      expect(readFileSync(trust).equals(before)).toBe(true);
    });

    it('an RSA public key (only Ed25519 is supported)', () => {
      const f = join(dir, 'rsa.pub');
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      writeFileSync(f, publicKey.export({ type: 'spki', format: 'pem' }));
      expectCleanFailure(trustAdd(trust, 'acme', f), 2, /Ed25519/);
      expect(readFileSync(trust).equals(before)).toBe(true);
    });

    it('an existing trust file that is malformed is not overwritten', () => {
      const bad = join(dir, 'bad-trust.json');
      writeFileSync(bad, '{"version": 1, "tenants": ');
      expectCleanFailure(trustAdd(bad, 'acme', KEYS.acme.pub), 2, /bad-trust\.json/);
      expect(readFileSync(bad, 'utf8')).toBe('{"version": 1, "tenants": ');
    });
  });

  it('leaves no temporary files beside the trust file', () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.json');
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
    mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.globex.pub]);
    expect(listDir(dir)).toEqual(['trust.json']);
  });

  describe('a key vouches only for the tenant it is trusted for', () => {
    let dir: string;
    let acmeBundle: string;
    beforeAll(() => {
      dir = tempDir();
      acmeBundle = join(dir, 'acme.tar');
      mustExport({ out: acmeBundle, inputs: [join(EVIDENCE, 'acme')] });
    });

    it('acme-signer trusted for acme: verifies (exit 0)', () => {
      const trust = join(dir, 'ok.json');
      mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
      const r = runCli(['verify', acmeBundle, '--trust', trust]);
      expect(r.status, r.stderr).toBe(0);
    });

    it('acme-signer trusted only for globex: acme bundle fails with exit 3', () => {
      const trust = join(dir, 'globex-only.json');
      mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.acme.pub]);
      expectCleanFailure(runCli(['verify', acmeBundle, '--trust', trust]), 3, /acme/);
    });

    it('a key trusted for globex does not verify an acme bundle it signed (exit 3)', () => {
      const signedByGlobex = join(dir, 'acme-by-globex.tar');
      mustExport({ out: signedByGlobex, inputs: [join(EVIDENCE, 'acme')], key: KEYS.globex.key });
      const trust = join(dir, 'both.json');
      mustRun(['trust', 'add', '--trust', trust, '--tenant', 'globex', '--key', KEYS.globex.pub]);
      mustRun(['trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', KEYS.acme.pub]);
      expectCleanFailure(runCli(['verify', signedByGlobex, '--trust', trust]), 3);
      expectCleanFailure(runCli(['verify', signedByGlobex, '--trust', trust, '--tenant', 'acme']), 3);
    });
  });
});
