/**
 * The reviewer's standard-tools path: VERIFY.md's commands run as written, and verify.sh
 * on good, co-signed and tampered bundles. Bundles come from the built CLI; GNU tar
 * unpacks them as a reviewer would.
 */
import type { SpawnSyncReturns } from 'node:child_process';
import { spawnSync } from './helpers/spawn.js';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFY_MD } from '../src/bundle/verify-doc.js';
import { VERIFY_SH } from '../src/bundle/verify-script.js';
import { canonicalBytes } from '../src/json/canonical.js';
import { parsePrivateKeyPem } from '../src/crypto/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope } from '../src/crypto/dsse.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(REPO, 'bin', 'stella-evidence.js');
const FIX = join(REPO, 'fixtures');
const key = (name: string, ext: 'key' | 'pub') => join(FIX, 'keys', `${name}.${ext}`);
const ACME = { key: key('acme-signer', 'key'), pub: key('acme-signer', 'pub') };
const ACME_CO = { key: key('acme-cosigner', 'key'), pub: key('acme-cosigner', 'pub') };
const GLOBEX = { key: key('globex-signer', 'key'), pub: key('globex-signer', 'pub') };

function tool(cmd: string, args: string[], mustMatch?: RegExp): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return false;
  return mustMatch === undefined || mustMatch.test(r.stdout + r.stderr);
}
// pkeyutl -rawin (Ed25519 over a file) arrived in OpenSSL 3.0.
const HAS_TOOLS =
  tool('openssl', ['version'], /^OpenSSL [3-9]/) &&
  tool('tar', ['--version'], /GNU tar/) &&
  tool('sha256sum', ['--version']) &&
  tool('base64', ['--version']);
// dash is the strictest common POSIX sh; fall back to the system sh.
const SH = tool('dash', ['-c', 'true']) ? 'dash' : 'sh';
// Each verify.sh run spawns dozens of processes; on a loaded machine that takes seconds.
const SLOW = 120_000;

let work = '';
const bundles = { single: '', cosigned: '', globex: '' };
const dirs = { single: '', cosigned: '', globex: '' };

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) throw r.error;
  return r;
}

function mustExport(out: string, tenant: string, keys: string[], input: string): string {
  const args = ['export', '--tenant', tenant, '--created-at', '2026-11-01T00:00:00Z', '--out', out];
  for (const k of keys) args.push('--key', k);
  const r = run(process.execPath, [BIN, ...args, input], REPO);
  if (r.status !== 0) throw new Error(`export failed (${r.status}): ${r.stderr}`);
  return out;
}

function unpack(bundle: string, dir: string): string {
  mkdirSync(dir);
  const r = run('tar', ['-xf', bundle, '-C', dir], work);
  if (r.status !== 0) throw new Error(`tar -xf failed: ${r.stderr}`);
  return dir;
}

let copies = 0;
/** A fresh copy of an unpacked bundle, to tamper with. */
function copyOf(dir: string): string {
  const d = join(work, `copy-${++copies}`);
  cpSync(dir, d, { recursive: true });
  return d;
}

const verifySh = (dir: string, ...args: string[]) => run(SH, ['verify.sh', ...args], dir);

/** FAIL or SKIP check names in verify.sh output. */
const notPassed = (out: string) =>
  out
    .split('\n')
    .filter((l) => /^(FAIL|SKIP) /.test(l))
    .map((l) => l.replace(/^(FAIL|SKIP)\s+([a-z]+):.*$/, '$1 $2'));

function firstBlob(dir: string): string {
  return join(dir, 'blobs', 'sha256', readdirSync(join(dir, 'blobs', 'sha256')).sort()[0]!);
}

/** Rewrite the manifest with `edit`, and sign it again with `signer`: a bundle a trusted key vouches for. */
function resign(dir: string, signer: string, edit: (m: { predicate: { artifacts: Array<{ tenant: string }> } }) => void): void {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  edit(m);
  const bytes = canonicalBytes(m);
  const k = parsePrivateKeyPem(readFileSync(signer, 'utf8'), signer);
  writeFileSync(join(dir, 'manifest.json'), bytes);
  writeFileSync(join(dir, 'manifest.dsse.json'), canonicalBytes(signEnvelope(IN_TOTO_PAYLOAD_TYPE, bytes, [k])));
}

beforeAll(() => {
  if (!HAS_TOOLS) return;
  work = mkdtempSync(join(tmpdir(), 'stella-posix-'));
  const acme = join(FIX, 'evidence', 'acme');
  bundles.single = mustExport(join(work, 'single.tar'), 'acme', [ACME.key], acme);
  bundles.cosigned = mustExport(join(work, 'cosigned.tar'), 'acme', [ACME.key, ACME_CO.key], acme);
  bundles.globex = mustExport(join(work, 'globex.tar'), 'globex', [GLOBEX.key], join(FIX, 'evidence', 'globex'));
  dirs.single = unpack(bundles.single, join(work, 'single'));
  dirs.cosigned = unpack(bundles.cosigned, join(work, 'cosigned'));
  dirs.globex = unpack(bundles.globex, join(work, 'globex'));
}, SLOW);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('VERIFY.md, followed literally', { timeout: SLOW }, () => {
  /** The ~~~sh blocks of VERIFY.md, with its three placeholder assignments filled in. */
  function steps(bundle: string, trusted: string, tenant: string): string {
    const blocks = [...VERIFY_MD.matchAll(/^~~~sh\n([\s\S]*?)^~~~$/gm)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    let script = blocks.join('\n');
    for (const [name, value] of [
      ['BUNDLE', bundle],
      ['TRUSTED', trusted],
      ['TENANT', tenant],
    ] as const) {
      const re = new RegExp(`^${name}=.*$`, 'gm');
      expect(script.match(re), `one ${name}= placeholder`).toHaveLength(1);
      script = script.replace(re, `${name}='${value}'`);
    }
    return script;
  }

  /** Runs the steps with sh -e in a fresh directory, as a reviewer pasting them would. */
  function follow(bundle: string, trusted: string, tenant = 'acme') {
    const cwd = mkdtempSync(join(work, 'review-'));
    return run(SH, ['-e', '-c', steps(bundle, trusted, tenant)], cwd);
  }

  const tenantLines = (out: string) => ({
    counted: out.split('\n').filter((l) => /^\s*\d+ "/.test(l)).map((l) => l.trim()),
    expected: /^expected: (.*)$/m.exec(out)?.[1],
  });

  it.skipIf(!HAS_TOOLS)('every step passes on a good bundle', () => {
    const r = follow(bundles.single, ACME.pub);
    expect(r.status, r.stderr).toBe(0);
    for (const marker of [
      'files OK',
      'checksums OK',
      'listing OK',
      'checksums.sha256: OK',
      'payload OK',
      'Signature Verified Successfully',
      'tenant OK',
    ]) {
      expect(r.stdout).toContain(marker);
    }
    const t = tenantLines(r.stdout);
    expect(t.expected).toBe('12 "acme"'); // 11 artifacts + the bundle
    expect(t.counted).toEqual([t.expected]);
  });

  it.skipIf(!HAS_TOOLS)('the signature step verifies each co-signer with its own key', () => {
    for (const k of [ACME.pub, ACME_CO.pub]) {
      const r = follow(bundles.cosigned, k);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Signature Verified Successfully');
    }
  });

  it.skipIf(!HAS_TOOLS)('the signature step fails with a key that did not sign', () => {
    for (const k of [GLOBEX.pub, ACME_CO.pub]) {
      const r = follow(bundles.single, k);
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain('payload OK');
      expect(r.stdout).not.toContain('Signature Verified Successfully');
    }
  });

  it.skipIf(!HAS_TOOLS)('the checksum, listing, pin and payload steps catch tampering', () => {
    const repack = (dir: string) => {
      const out = `${dir}.tar`;
      expect(run('tar', ['-cf', out, '-C', dir, '.'], work).status).toBe(0);
      return out;
    };

    const blob = copyOf(dirs.single);
    const b = readFileSync(firstBlob(blob));
    b[10] ^= 1;
    writeFileSync(firstBlob(blob), b);
    let r = follow(repack(blob), ACME.pub);
    expect(r.stdout).toContain('listing OK');
    expect(r.stdout).not.toContain('checksums OK');

    const extra = copyOf(dirs.single);
    writeFileSync(join(extra, 'notes.txt'), 'added later\n');
    r = follow(repack(extra), ACME.pub);
    expect(r.stdout).toContain('checksums OK');
    expect(r.stdout).not.toContain('listing OK');

    const sums = copyOf(dirs.single);
    appendFileSync(join(sums, 'notes.txt'), 'added later\n');
    const line = `${createHashHex(readFileSync(join(sums, 'notes.txt')))}  notes.txt\n`;
    appendFileSync(join(sums, 'checksums.sha256'), line);
    r = follow(repack(sums), ACME.pub);
    expect(r.stdout).toContain('checksums OK');
    expect(r.stdout).toContain('listing OK');
    expect(r.stdout).not.toContain('checksums.sha256: OK');

    const manifest = copyOf(dirs.single);
    const m = readFileSync(join(manifest, 'manifest.json'), 'utf8');
    writeFileSync(join(manifest, 'manifest.json'), m.replace('"createdAt":"2026-11-01T00:00:00Z"', '"createdAt":"2026-11-02T00:00:00Z"'));
    r = follow(repack(manifest), ACME.pub);
    expect(r.stdout).toContain('checksums.sha256: OK');
    expect(r.stdout).not.toContain('payload OK');
  });

  it.skipIf(!HAS_TOOLS)('the tenant step shows an artifact of another tenant, even in a validly signed bundle', () => {
    const d = copyOf(dirs.single);
    resign(d, ACME.key, (m) => {
      m.predicate.artifacts[3]!.tenant = 'globex';
    });
    const tar = `${d}.tar`;
    expect(run('tar', ['-cf', tar, '-C', d, '.'], work).status).toBe(0);
    const r = follow(tar, ACME.pub);
    expect(r.stdout).toContain('Signature Verified Successfully');
    const t = tenantLines(r.stdout);
    expect(t.counted).toEqual(['11 "acme"', '1 "globex"']);
    expect(t.counted).not.toEqual([t.expected]);
  });

  it.skipIf(!HAS_TOOLS)('the tenant step fails for another tenant than expected', () => {
    const r = follow(bundles.single, ACME.pub, 'globex');
    expect(r.stdout).toContain('Signature Verified Successfully');
    expect(r.stdout).not.toContain('tenant OK');
  });
});

function createHashHex(data: Buffer): string {
  return spawnSync('sha256sum', [], { input: data, encoding: 'utf8' }).stdout.slice(0, 64);
}

describe('verify.sh', { timeout: SLOW }, () => {
  const CHECKS = ['files', 'listing', 'checksums', 'payload', 'statement', 'pin', 'signatures', 'tenant'];

  it.skipIf(!HAS_TOOLS)('passes a good bundle, printing each check', () => {
    const r = verifySh(dirs.single, ACME.pub);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const c of CHECKS) expect(r.stdout).toMatch(new RegExp(`^PASS  ${c}: `, 'm'));
    expect(notPassed(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/^OK: /m);
  });

  it.skipIf(!HAS_TOOLS)('checks the tenant given with -t', () => {
    expect(verifySh(dirs.single, '-t', 'acme', ACME.pub).status).toBe(0);
    const r = verifySh(dirs.single, '-t', 'globex', ACME.pub);
    expect(r.status).toBe(1);
    expect(notPassed(r.stdout)).toEqual(['FAIL tenant']);
    expect(r.stdout).toContain('belongs to tenant acme, not globex');
  });

  it.skipIf(!HAS_TOOLS)('counts distinct keys toward the threshold', () => {
    expect(verifySh(dirs.cosigned, '-n', '2', ACME.pub, ACME_CO.pub).status).toBe(0);
    expect(verifySh(dirs.cosigned, '-n', '2', ACME_CO.pub, GLOBEX.pub, ACME.pub).status).toBe(0);
    expect(verifySh(dirs.cosigned, '-n', '3', ACME.pub, ACME_CO.pub).status).toBe(1);

    const same = verifySh(dirs.cosigned, '-n', '2', ACME.pub, ACME.pub);
    expect(same.status).toBe(1);
    expect(notPassed(same.stdout)).toEqual(['FAIL signatures']);

    // The same key in another encoding (DER instead of PEM) is still one key.
    const der = join(work, 'acme-signer.der');
    writeFileSync(der, createPublicKey(readFileSync(ACME.pub)).export({ type: 'spki', format: 'der' }));
    expect(verifySh(dirs.cosigned, '-n', '1', der).status).toBe(0);
    expect(verifySh(dirs.cosigned, '-n', '2', ACME.pub, der).status).toBe(1);

    // One key that signed twice is still one signer.
    const twice = copyOf(dirs.single);
    const env = JSON.parse(readFileSync(join(twice, 'manifest.dsse.json'), 'utf8'));
    env.signatures.push({ ...env.signatures[0] });
    writeFileSync(join(twice, 'manifest.dsse.json'), JSON.stringify(env));
    expect(verifySh(twice, ACME.pub).status).toBe(0);
    const r = verifySh(twice, '-n', '2', ACME.pub, der);
    expect(r.status).toBe(1);
    expect(notPassed(r.stdout)).toEqual(['FAIL signatures']);
  });

  it.skipIf(!HAS_TOOLS)('fails the threshold when only one of the given keys signed', () => {
    const r = verifySh(dirs.single, '-n', '2', ACME.pub, ACME_CO.pub);
    expect(r.status).toBe(1);
    expect(notPassed(r.stdout)).toEqual(['FAIL signatures']);
    expect(r.stdout).toMatch(/signatures: 1 of 2 .*threshold 2/);
  });

  it.skipIf(!HAS_TOOLS)('fails with a key that did not sign', () => {
    const r = verifySh(dirs.single, GLOBEX.pub);
    expect(r.status).toBe(1);
    expect(notPassed(r.stdout)).toEqual(['FAIL signatures']);
  });

  describe('on tampered copies', () => {
    it.skipIf(!HAS_TOOLS)('a changed blob byte', () => {
      const d = copyOf(dirs.single);
      const b = readFileSync(firstBlob(d));
      b[0] ^= 0x20;
      writeFileSync(firstBlob(d), b);
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL checksums']);
    });

    it.skipIf(!HAS_TOOLS)('an extra file, also in a subdirectory', () => {
      for (const rel of ['extra.txt', 'blobs/sha256/extra', 'keys/more/evil.pub']) {
        const d = copyOf(dirs.single);
        mkdirSync(join(d, rel, '..'), { recursive: true });
        writeFileSync(join(d, rel), 'not part of the bundle\n');
        const r = verifySh(d, ACME.pub);
        expect(r.status, rel).toBe(1);
        expect(notPassed(r.stdout)).toEqual(['FAIL listing', 'SKIP checksums']);
        expect(r.stdout).toContain(`${rel} is not listed`);
      }
    });

    it.skipIf(!HAS_TOOLS)('a missing file', () => {
      const d = copyOf(dirs.single);
      rmSync(join(d, 'VERIFY.md'));
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL listing', 'SKIP checksums']);
    });

    it.skipIf(!HAS_TOOLS)('an edited manifest.json', () => {
      const d = copyOf(dirs.single);
      const m = readFileSync(join(d, 'manifest.json'), 'utf8');
      writeFileSync(join(d, 'manifest.json'), m.replace('"tenant":"acme","totals"', '"tenant":"acmf","totals"'));
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL payload']);
    });

    it.skipIf(!HAS_TOOLS)('an edited checksums.sha256', () => {
      const d = copyOf(dirs.single);
      const sums = readFileSync(join(d, 'checksums.sha256'), 'utf8');
      // A consistent edit: the blob and its listed digest change together.
      const blob = firstBlob(d);
      writeFileSync(blob, 'replaced content\n');
      const hex = blob.slice(-64);
      writeFileSync(join(d, 'checksums.sha256'), sums.replace(`${hex}  blobs`, `${createHashHex(readFileSync(blob))}  blobs`));
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL pin']);
    });

    it.skipIf(!HAS_TOOLS)('a replaced envelope signature', () => {
      const d = copyOf(dirs.single);
      const env = JSON.parse(readFileSync(join(d, 'manifest.dsse.json'), 'utf8'));
      // A real Ed25519 signature over the right PAE, by another key, under the signer's keyid.
      const other = sign(null, pae(IN_TOTO_PAYLOAD_TYPE, readFileSync(join(d, 'manifest.json'))), createPrivateKey(readFileSync(GLOBEX.key)));
      env.signatures[0].sig = other.toString('base64');
      writeFileSync(join(d, 'manifest.dsse.json'), JSON.stringify(env));
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL signatures']);
    });

    it.skipIf(!HAS_TOOLS)('an envelope not in the expected form', () => {
      const d = copyOf(dirs.single);
      appendFileSync(join(d, 'manifest.dsse.json'), '\n');
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL payload', 'SKIP statement', 'SKIP pin', 'SKIP signatures', 'SKIP tenant']);
    });

    it.skipIf(!HAS_TOOLS)('an artifact of another tenant, in a bundle the trusted key signed', () => {
      const d = copyOf(dirs.single);
      resign(d, ACME.key, (m) => {
        m.predicate.artifacts[0]!.tenant = 'globex';
      });
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL tenant']);
    });

    it.skipIf(!HAS_TOOLS)('a symbolic link', () => {
      const d = copyOf(dirs.single);
      symlinkSync('/etc/passwd', join(d, 'keys', 'link.pub'));
      const r = verifySh(d, ACME.pub);
      expect(r.status).toBe(1);
      expect(notPassed(r.stdout)).toEqual(['FAIL files']);
    });
  });

  it.skipIf(!HAS_TOOLS)('exits 2 on usage errors, with the reason on stderr', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /at least one trusted public key/],
      [['-n', '2'], /at least one trusted public key/],
      [['-n', '0', ACME.pub], /-n needs a whole number/],
      [['-n', 'two', ACME.pub], /-n needs a whole number/],
      [['-n'], /needs a value/],
      [['-x', ACME.pub], /unknown option -x/],
      [['-t', 'Not A Tenant', ACME.pub], /invalid tenant id/],
      [['-t', '', ACME.pub], /invalid tenant id/],
      [[join(work, 'no-such.pub')], /cannot read key file/],
      [[ACME.key], /not a public key/],
    ];
    for (const [args, msg] of cases) {
      const r = verifySh(dirs.single, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
    }
    // Run from outside an unpacked bundle.
    const r = run(SH, [join(dirs.single, 'verify.sh'), ACME.pub], work);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unpacked/);
  });
});

describe('VERIFY.md and verify.sh in every bundle', { timeout: SLOW }, () => {
  it.skipIf(!HAS_TOOLS)('have the same bytes whatever the tenant, and are listed in checksums.sha256', () => {
    for (const name of ['VERIFY.md', 'verify.sh']) {
      const a = readFileSync(join(dirs.single, name));
      const g = readFileSync(join(dirs.globex, name));
      expect(a.equals(g), name).toBe(true);
      expect(a.toString('utf8')).toBe(name === 'verify.sh' ? VERIFY_SH : VERIFY_MD);
      for (const d of [dirs.single, dirs.globex]) {
        expect(readFileSync(join(d, 'checksums.sha256'), 'utf8')).toContain(`  ${name}\n`);
      }
    }
    expect(VERIFY_MD).not.toContain('acme');
    expect(VERIFY_SH).not.toContain('acme');
  });

  it.skipIf(!HAS_TOOLS)('verify.sh is executable in the archive', () => {
    const r = run('tar', ['-tvf', bundles.single, 'verify.sh'], work);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^-rwxr-xr-x /);
    const md = run('tar', ['-tvf', bundles.single, 'VERIFY.md'], work);
    expect(md.stdout).toMatch(/^-rw-r--r-- /);
  });

  it.skipIf(!HAS_TOOLS)('the bundle with verify.sh still passes stella-evidence verify', () => {
    const trust = join(work, 'trust.json');
    if (!existsSync(trust)) {
      const add = run(process.execPath, [BIN, 'trust', 'add', '--trust', trust, '--tenant', 'acme', '--key', ACME.pub], REPO);
      expect(add.status, add.stderr).toBe(0);
    }
    const r = run(process.execPath, [BIN, 'verify', bundles.single, '--trust', trust], REPO);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
