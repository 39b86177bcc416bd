/**
 * PEM key parsing: SPKI and PKCS#8 (plain and encrypted) Ed25519 keys are read, every
 * other key type is refused with a clear message, and the key id is the SHA-256 of the
 * SPKI DER whatever PEM text carried the key.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StellaError } from '../../src/errors.js';
import {
  generateKeyPair,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  publicKeyFromRaw,
  publicKeyFromSpkiDer,
  spkiPem,
} from '../../src/crypto/keys.js';
import { sign, verify } from '../../src/crypto/ed25519.js';

const keyFile = (name: string): string => readFileSync(new URL(`../../fixtures/keys/${name}`, import.meta.url), 'utf8');

/** The passphrase and key ids published in fixtures/keys/README.md. */
const README = readFileSync(new URL('../../fixtures/keys/README.md', import.meta.url), 'utf8');
const PASSPHRASE = /Its passphrase is:\s*```\s*\n(.+)\n```/.exec(README)![1]!;
const publishedKeyid = (name: string): string => new RegExp('`' + name + '\\.key`[^\\n]*`([0-9a-f]{64})`').exec(README)![1]!;

function usageFailure(fn: () => unknown): StellaError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StellaError);
    expect((e as StellaError).category).toBe('usage');
    expect((e as StellaError).exitCode).toBe(2);
    return e as StellaError;
  }
  throw new Error('expected a usage error');
}

const spkiDerOf = (pem: string): Buffer => createPublicKey(pem).export({ format: 'der', type: 'spki' });

describe('parsePrivateKeyPem and noble', () => {
  it('reads the public key node:crypto derives, which is the one noble derives from the seed', async () => {
    const { publicKeyOf } = await import('../../src/crypto/ed25519.js');
    for (let k = 0; k < 20; k++) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const key = parsePrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'test key', undefined);
      expect(Buffer.from(key.raw).toString('hex')).toBe(Buffer.from(publicKeyOf(key.seed)).toString('hex'));
    }
  });
});

describe('fixture keys', () => {
  it.each(['acme-signer', 'acme-cosigner', 'globex-signer'])('%s: SPKI and PKCS#8 agree, keyid as published', (name) => {
    const pub = parsePublicKeyPem(keyFile(`${name}.pub`), `${name}.pub`);
    const priv = parsePrivateKeyPem(keyFile(`${name}.key`), `${name}.key`);
    const keyid = publishedKeyid(name);
    expect(pub.keyid).toBe(keyid);
    expect(priv.keyid).toBe(keyid);
    expect(Buffer.from(priv.raw).equals(Buffer.from(pub.raw))).toBe(true);
    // keyid = lowercase hex sha256 of the SPKI DER, computed independently with node:crypto.
    const der = spkiDerOf(keyFile(`${name}.pub`));
    expect(pub.spki.equals(der)).toBe(true);
    expect(createHash('sha256').update(der).digest('hex')).toBe(keyid);
    // The seed signs, the public key verifies.
    const msg = Buffer.from('evidence');
    expect(verify(sign(msg, priv.seed, priv.raw), msg, pub.raw)).toBe(true);
  });

  it('the public key can also be derived from a private key file', () => {
    const pub = parsePublicKeyPem(keyFile('acme-signer.key'), 'acme-signer.key');
    expect(pub.keyid).toBe(publishedKeyid('acme-signer'));
  });

  it('the keyid does not depend on the PEM text (line width, surrounding blank lines)', () => {
    const pem = keyFile('acme-signer.pub');
    const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const rewrapped = `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,20}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
    expect(parsePublicKeyPem(rewrapped, 'x').keyid).toBe(publishedKeyid('acme-signer'));
    expect(parsePublicKeyPem(`\n\n${pem}\n`, 'x').keyid).toBe(publishedKeyid('acme-signer'));
  });
});

describe('encrypted PKCS#8', () => {
  const pem = keyFile('acme-encrypted.key');

  it('is really encrypted', () => {
    expect(pem).toMatch(/-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(PASSPHRASE).toBe('correct horse battery staple');
  });

  it('opens with the published passphrase', () => {
    const k = parsePrivateKeyPem(pem, 'acme-encrypted.key', PASSPHRASE);
    expect(k.keyid).toBe(publishedKeyid('acme-encrypted'));
    expect(k.keyid).toBe(parsePublicKeyPem(keyFile('acme-encrypted.pub'), 'acme-encrypted.pub').keyid);
  });

  it('without a passphrase: says how to give one', () => {
    const e = usageFailure(() => parsePrivateKeyPem(pem, 'acme-encrypted.key'));
    expect(e.code).toBe('KEY_ENCRYPTED');
    expect(e.message).toMatch(/acme-encrypted\.key is encrypted/);
    expect(e.message).toMatch(/--passphrase-file|STELLA_EVIDENCE_PASSPHRASE/);
  });

  it('with a wrong passphrase: a clear message, no OpenSSL jargon', () => {
    for (const wrong of ['', 'correct horse battery stapl', 'Correct horse battery staple', `${PASSPHRASE}\n`]) {
      const e = usageFailure(() => parsePrivateKeyPem(pem, 'acme-encrypted.key', wrong));
      expect(e.message).toBe('cannot decrypt acme-encrypted.key: wrong passphrase or damaged key');
    }
  });

  it('keys generated with a passphrase round-trip; without one they are plain', () => {
    const enc = generateKeyPair('s3cret');
    expect(enc.privatePem).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    expect(parsePrivateKeyPem(enc.privatePem, 'k', 's3cret').keyid).toBe(enc.keyid);
    expect(parsePublicKeyPem(enc.publicPem, 'p').keyid).toBe(enc.keyid);
    const plain = generateKeyPair();
    expect(plain.privatePem).toMatch(/BEGIN PRIVATE KEY/);
    expect(parsePrivateKeyPem(plain.privatePem, 'k').keyid).toBe(plain.keyid);
    expect(plain.keyid).not.toBe(enc.keyid);
  });
});

describe('other key types and junk are refused with a clear message', () => {
  const others = {
    rsa: generateKeyPairSync('rsa', { modulusLength: 1024 }),
    ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    x25519: generateKeyPairSync('x25519'),
    ed448: generateKeyPairSync('ed448'),
  };

  it.each(Object.entries(others))('%s public and private keys', (type, pair) => {
    const pubPem = pair.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const privPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const e1 = usageFailure(() => parsePublicKeyPem(pubPem, 'their.pub'));
    expect(e1.code).toBe('KEY_INVALID');
    expect(e1.message).toBe(`their.pub is a ${type} key: only Ed25519 is supported`);
    const e2 = usageFailure(() => parsePrivateKeyPem(privPem, 'their.key'));
    expect(e2.message).toBe(`their.key is a ${type} key: only Ed25519 is supported`);
    // And the same for their SPKI DER fed to the DER parser.
    const der = pair.publicKey.export({ format: 'der', type: 'spki' });
    expect(usageFailure(() => publicKeyFromSpkiDer(der, 'DER')).message).toMatch(/not an Ed25519 public key/);
  });

  it('traditional RSA and SEC1 EC PEM are refused too', () => {
    const rsaPem = others.rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const ecPem = others.ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    expect(usageFailure(() => parsePrivateKeyPem(rsaPem, 'rsa.key')).message).toMatch(/rsa key: only Ed25519/);
    expect(usageFailure(() => parsePrivateKeyPem(ecPem, 'ec.key')).message).toMatch(/ec key: only Ed25519/);
  });

  it('junk, empty and truncated PEM', () => {
    expect(usageFailure(() => parsePublicKeyPem('', 'a.pub')).message).toBe('cannot read a.pub: not a PEM public key');
    expect(usageFailure(() => parsePublicKeyPem('hello', 'a.pub')).message).toMatch(/not a PEM public key/);
    const pem = keyFile('acme-signer.pub');
    expect(usageFailure(() => parsePublicKeyPem(pem.slice(0, 50), 'a.pub')).message).toMatch(/not a PEM public key/);
    expect(usageFailure(() => parsePrivateKeyPem('', 'a.key')).message).toBe('cannot read a.key: not a PEM private key');
    expect(usageFailure(() => parsePrivateKeyPem(keyFile('acme-signer.pub'), 'a.key')).message).toMatch(/not a PEM private key/);
  });

  it('raw and SPKI DER checks', () => {
    expect(usageFailure(() => publicKeyFromRaw(new Uint8Array(31))).code).toBe('KEY_INVALID');
    const good = publicKeyFromRaw(new Uint8Array(32).fill(7));
    expect(publicKeyFromSpkiDer(good.spki, 'x').keyid).toBe(good.keyid);
    expect(good.keyid).toBe(createHash('sha256').update(good.spki).digest('hex'));
    expect(usageFailure(() => publicKeyFromSpkiDer(good.spki.subarray(0, 43), 'x')).code).toBe('KEY_INVALID');
    expect(usageFailure(() => publicKeyFromSpkiDer(Buffer.concat([good.spki, Buffer.from([0])]), 'x')).code).toBe('KEY_INVALID');
  });

  it('spkiPem writes what node:crypto and the parser read back', () => {
    const pub = parsePublicKeyPem(keyFile('acme-signer.pub'), 'p');
    const pem = spkiPem(pub);
    expect(pem).toBe(keyFile('acme-signer.pub'));
    expect(spkiDerOf(pem).equals(pub.spki)).toBe(true);
  });
});
