import { spawnSync } from './helpers/spawn.js';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCleanFailure, HAS_OPENSSL, mustRun, runCli } from './helpers/cli.js';
import { keyidOf, sha256Hex, spkiDer } from './helpers/keys.js';
import { expectSchema } from './helpers/schema.js';
import { listDir, removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const PASSPHRASE = 'tr0ub4dor & 3 -- not echoed';

function openssl(args: string[], input = '') {
  return spawnSync('openssl', args, { encoding: 'utf8', input });
}

describe('keygen', () => {
  it('writes PREFIX.key (mode 0600) and PREFIX.pub and prints the key id', () => {
    const dir = tempDir();
    const prefix = join(dir, 'signer');
    const r = mustRun(['keygen', '--out', prefix]);
    expect(listDir(dir)).toEqual(['signer.key', 'signer.pub']);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    const key = readFileSync(`${prefix}.key`, 'utf8');
    const pub = readFileSync(`${prefix}.pub`, 'utf8');
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const keyid = r.stdout.trim();
    expect(keyid).toMatch(/^[0-9a-f]{64}$/);
    expect(keyid).toBe(keyidOf(`${prefix}.pub`));
    // The private key's public half is the published one.
    expect(keyidOf(`${prefix}.key`)).toBe(keyid);
    // Status goes to stderr, the key id alone to stdout.
    expect(r.stdout).toBe(`${keyid}\n`);
  });

  it('makes a different key on each run', () => {
    const dir = tempDir();
    const a = mustRun(['keygen', '--out', join(dir, 'a')]).stdout.trim();
    const b = mustRun(['keygen', '--out', join(dir, 'b')]).stdout.trim();
    expect(a).not.toBe(b);
  });

  it('--json matches schemas/keygen-result.schema.json', () => {
    const dir = tempDir();
    const prefix = join(dir, 'k');
    const doc = JSON.parse(mustRun(['keygen', '--out', prefix, '--json']).stdout);
    expectSchema('keygen-result', doc);
    expect(doc).toEqual({ keyid: keyidOf(`${prefix}.pub`), privateKey: `${prefix}.key`, publicKey: `${prefix}.pub`, encrypted: false });
  });

  it.skipIf(!HAS_OPENSSL)('OpenSSL reads both files and computes the same key id from the SPKI DER', () => {
    const dir = tempDir();
    const prefix = join(dir, 'ossl');
    const keyid = mustRun(['keygen', '--out', prefix]).stdout.trim();
    expect(openssl(['pkey', '-in', `${prefix}.key`, '-noout']).status).toBe(0);
    expect(openssl(['pkey', '-pubin', '-in', `${prefix}.pub`, '-noout']).status).toBe(0);
    const text = openssl(['pkey', '-in', `${prefix}.key`, '-noout', '-text']).stdout;
    expect(text).toMatch(/ED25519 Private-Key/);
    const der = spawnSync('openssl', ['pkey', '-pubin', '-in', `${prefix}.pub`, '-outform', 'DER']);
    expect(der.status).toBe(0);
    expect(sha256Hex(der.stdout)).toBe(keyid);
    const sum = spawnSync('sh', ['-c', `openssl pkey -pubin -in '${prefix}.pub' -outform DER | sha256sum`], { encoding: 'utf8' });
    expect(sum.stdout.split(' ')[0]).toBe(keyid);
    // The public key OpenSSL derives from the private key is byte-identical to PREFIX.pub.
    const derived = openssl(['pkey', '-in', `${prefix}.key`, '-pubout']).stdout;
    expect(derived).toBe(readFileSync(`${prefix}.pub`, 'utf8'));
  });

  describe('encrypted keys', () => {
    it('--passphrase-file encrypts the key; the passphrase is never printed', () => {
      const dir = tempDir();
      const pp = join(dir, 'pp.txt');
      writeFileSync(pp, PASSPHRASE + '\n');
      const prefix = join(dir, 'enc');
      const r = mustRun(['keygen', '--out', prefix, '--passphrase-file', pp]);
      expect(readFileSync(`${prefix}.key`, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
      expect(r.stdout + r.stderr).not.toContain(PASSPHRASE);
      expect(r.stdout + r.stderr).not.toContain('tr0ub4dor');
      expect(r.stdout.trim()).toBe(keyidOf(`${prefix}.pub`));
    });

    it('STELLA_EVIDENCE_PASSPHRASE encrypts the key; the passphrase is never printed', () => {
      const dir = tempDir();
      const prefix = join(dir, 'env');
      const r = mustRun(['keygen', '--out', prefix, '--json'], { env: { STELLA_EVIDENCE_PASSPHRASE: PASSPHRASE } });
      expect(readFileSync(`${prefix}.key`, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      expect(JSON.parse(r.stdout).encrypted).toBe(true);
      expect(r.stdout + r.stderr).not.toContain('tr0ub4dor');
    });

    it.skipIf(!HAS_OPENSSL)('OpenSSL decrypts it with the passphrase and fails without or with a wrong one', () => {
      const dir = tempDir();
      const pp = join(dir, 'pp.txt');
      writeFileSync(pp, PASSPHRASE + '\n');
      const viaFile = join(dir, 'f');
      const viaEnv = join(dir, 'e');
      mustRun(['keygen', '--out', viaFile, '--passphrase-file', pp]);
      mustRun(['keygen', '--out', viaEnv], { env: { STELLA_EVIDENCE_PASSPHRASE: PASSPHRASE } });
      for (const prefix of [viaFile, viaEnv]) {
        const ok = spawnSync('openssl', ['pkey', '-in', `${prefix}.key`, '-passin', 'env:PP', '-noout'], {
          env: { ...process.env, PP: PASSPHRASE },
        });
        expect(ok.status, ok.stderr.toString()).toBe(0);
        // No passphrase (stdin closed, nothing to read) and a wrong one both fail.
        expect(openssl(['pkey', '-in', `${prefix}.key`, '-passin', 'stdin', '-noout'], '').status).not.toBe(0);
        expect(openssl(['pkey', '-in', `${prefix}.key`, '-passin', 'pass:wrong', '-noout']).status).not.toBe(0);
        // The decrypted key's public half is PREFIX.pub.
        const pub = spawnSync('openssl', ['pkey', '-in', `${prefix}.key`, '-passin', 'env:PP', '-pubout'], {
          env: { ...process.env, PP: PASSPHRASE },
          encoding: 'utf8',
        }).stdout;
        expect(pub).toBe(readFileSync(`${prefix}.pub`, 'utf8'));
      }
    });

    it('an empty passphrase file is refused (exit 2), nothing written', () => {
      const dir = tempDir();
      const pp = join(dir, 'empty');
      writeFileSync(pp, '');
      const r = runCli(['keygen', '--out', join(dir, 'k'), '--passphrase-file', pp]);
      expectCleanFailure(r, 2, /passphrase/);
      expect(listDir(dir)).toEqual(['empty']);
    });

    it('a missing passphrase file is refused (exit 2), nothing written', () => {
      const dir = tempDir();
      const r = runCli(['keygen', '--out', join(dir, 'k'), '--passphrase-file', join(dir, 'nope')]);
      expectCleanFailure(r, 2, /nope/);
      expect(listDir(dir)).toEqual([]);
    });
  });

  describe('overwriting', () => {
    it('refuses to overwrite PREFIX.key or PREFIX.pub without --force (exit 2), leaving them untouched', () => {
      const dir = tempDir();
      const prefix = join(dir, 'k');
      mustRun(['keygen', '--out', prefix]);
      const key = readFileSync(`${prefix}.key`);
      const pub = readFileSync(`${prefix}.pub`);
      const r = runCli(['keygen', '--out', prefix]);
      expectCleanFailure(r, 2, /already exists.*--force/);
      expect(readFileSync(`${prefix}.key`).equals(key)).toBe(true);
      expect(readFileSync(`${prefix}.pub`).equals(pub)).toBe(true);
      expect(listDir(dir)).toEqual(['k.key', 'k.pub']);
    });

    it('refuses when only PREFIX.pub exists', () => {
      const dir = tempDir();
      const prefix = join(dir, 'k');
      writeFileSync(`${prefix}.pub`, 'keep me');
      expectCleanFailure(runCli(['keygen', '--out', prefix]), 2);
      expect(listDir(dir)).toEqual(['k.pub']);
      expect(readFileSync(`${prefix}.pub`, 'utf8')).toBe('keep me');
    });

    it('--force replaces both files with a new key pair', () => {
      const dir = tempDir();
      const prefix = join(dir, 'k');
      const first = mustRun(['keygen', '--out', prefix]).stdout.trim();
      const second = mustRun(['keygen', '--out', prefix, '--force']).stdout.trim();
      expect(second).not.toBe(first);
      expect(keyidOf(`${prefix}.pub`)).toBe(second);
      expect(keyidOf(`${prefix}.key`)).toBe(second);
      expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
      expect(listDir(dir)).toEqual(['k.key', 'k.pub']);
    });
  });

  it('--out is required (exit 2)', () => {
    const r = runCli(['keygen']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });

  it('the SPKI DER behind the key id is an Ed25519 key', () => {
    const dir = tempDir();
    const prefix = join(dir, 'k');
    mustRun(['keygen', '--out', prefix]);
    const der = spkiDer(`${prefix}.pub`);
    expect(der.length).toBe(44);
    expect(der.subarray(0, 12).toString('hex')).toBe('302a300506032b6570032100');
  });
});
