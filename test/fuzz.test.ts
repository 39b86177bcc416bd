/**
 * Property-based and mutation tests over what a bundle's recipient parses from outside:
 * the archive (through the whole verifier), the strict JSON parser and the trust file.
 *
 * The suite runs FUZZ_RUNS cases per property (default 300). A longer run is one command:
 *
 *   npx tsc -p tsconfig.json && FUZZ_RUNS=20000 npx vitest run test/fuzz.test.ts
 *
 * A failure prints the fast-check seed and path; replay it with FUZZ_SEED=<seed>
 * FUZZ_PATH=<path> and the same FUZZ_RUNS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StellaError } from '../src/errors.js';
import { canonicalize } from '../src/json/canonical.js';
import { JsonSyntaxError, parseStrictJson, parseStrictJsonBytes } from '../src/json/strict-parse.js';
import { loadTrustFile, parseTrustFile, type TrustStore } from '../src/trust/trust-file.js';
import { verifyBundle } from '../src/verify/verifier.js';
import { simpleEntries, type SimpleEntry } from './helpers/tar-craft.js';
import { acmeTrustFile, exportAcmeBundle } from './helpers/fixture-bundle.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${process.env.FUZZ_RUNS}`);
const replay = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH } : {};
const params = <T>(extra: fc.Parameters<T> = {}): fc.Parameters<T> => ({ numRuns: RUNS, ...replay, ...extra });
/** Generous, and proportional to the work asked for: the suite never measures time. */
const TIMEOUT = Math.max(120_000, RUNS * 200);

// ---------------------------------------------------------------------------
// Mutated bundles through verifyBundle.

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'duplicateBlock'; block: number }
  | { kind: 'zeroBlock'; block: number }
  | { kind: 'swapBlocks'; a: number; b: number };

/** Where mutations are worth aiming: tar headers and the metadata files come first. */
function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  let at = 0;
  while (at + 512 <= tar.length && tar.subarray(at, at + 512).some((b) => b !== 0)) {
    out.push(at);
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/**
 * Offsets of the bytes worth aiming at: `headers` (a block each), `ranges` (inclusive start,
 * exclusive end) such as the metadata files' content and the signature inside the envelope,
 * which no checksum covers and only the signature check catches.
 */
function mutationArb(length: number, headers: readonly number[], ranges: ReadonlyArray<[number, number]> = [[0, length]]): fc.Arbitrary<Mutation> {
  const inRange = fc
    .tuple(fc.constantFrom(...ranges), fc.nat())
    .map(([[from, to], k]) => Math.min(from + (k % Math.max(1, to - from)), length - 1));
  const offset = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: length - 1 }) },
    { weight: 2, arbitrary: inRange },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...headers), fc.integer({ min: 0, max: 511 })).map(([h, d]) => Math.min(h + d, length - 1)) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: Math.min(12_000, length - 1) }) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, length - 1536), max: length - 1 }) },
  );
  const blocks = Math.floor(length / 512);
  const block = fc.integer({ min: 0, max: blocks - 1 });
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: offset, bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: offset, value: fc.constantFrom(0, 0x20, 0x30, 0x37, 0x2f, 0x2e, 0xff, 0x80) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: offset }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: offset, bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.uint8Array({ minLength: 512, maxLength: 512 }), fc.constant(new Uint8Array(512))) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: offset, len: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(512)) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicateBlock' as const), block }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('zeroBlock' as const), block }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('swapBlocks' as const), a: block, b: block }) },
  );
}

function applyMutation(input: Buffer, m: Mutation): Buffer {
  const b = Buffer.from(input);
  const at = (x: number) => Math.min(x, Math.max(b.length - 1, 0));
  switch (m.kind) {
    case 'flip':
      if (b.length) b[at(m.at)]! ^= 1 << m.bit;
      return b;
    case 'set':
      if (b.length) b[at(m.at)] = m.value;
      return b;
    case 'truncate':
      return b.subarray(0, Math.min(m.at, b.length));
    case 'insert':
      return Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.len)]);
    case 'duplicateBlock': {
      const s = Math.min(m.block * 512, b.length);
      return Buffer.concat([b.subarray(0, s + 512), b.subarray(s)]);
    }
    case 'zeroBlock':
      b.fill(0, Math.min(m.block * 512, b.length), Math.min(m.block * 512 + 512, b.length));
      return b;
    case 'swapBlocks': {
      const x = Buffer.from(b.subarray(m.a * 512, m.a * 512 + 512));
      const y = Buffer.from(b.subarray(m.b * 512, m.b * 512 + 512));
      if (x.length !== 512 || y.length !== 512) return b;
      y.copy(b, m.a * 512);
      x.copy(b, m.b * 512);
      return b;
    }
  }
}

const byName = (es: readonly SimpleEntry[]) => [...es].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * The part of the DSSE envelope a verifier may rely on. Each signature's keyid is an
 * unauthenticated hint (DSSE says so, and the verifier tries every trusted key when it
 * names none), and JSON whitespace carries nothing: changing either changes no evidence.
 */
function envelopeMeaning(bytes: Buffer): string | null {
  try {
    const e = JSON.parse(bytes.toString('utf8')) as { payload: unknown; payloadType: unknown; signatures: { sig: unknown }[] };
    return JSON.stringify([e.payload, e.payloadType, e.signatures.map((x) => x.sig)]);
  } catch {
    return null;
  }
}

/**
 * "Really unchanged": the same regular files with the same names and bytes, except for
 * what envelopeMeaning leaves out.
 */
function sameFiles(a: readonly SimpleEntry[] | null, b: readonly SimpleEntry[]): boolean {
  if (!a || a.length !== b.length) return false;
  const x = byName(a);
  const y = byName(b);
  return x.every((e, k) => {
    const o = y[k]!;
    if (e.name !== o.name) return false;
    if (e.content.equals(o.content)) return true;
    return e.name === 'manifest.dsse.json' && envelopeMeaning(e.content) !== null && envelopeMeaning(e.content) === envelopeMeaning(o.content);
  });
}

describe('mutated bundles', () => {
  let dir: string;
  let trust: TrustStore;
  let tar: Buffer;
  let tgz: Buffer;
  let originalFiles: SimpleEntry[];
  let headers: number[];
  let targets: Array<[number, number]>;
  let n = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fuzz-bundle-'));
    tar = readFileSync(exportAcmeBundle(join(dir, 'acme.tar')));
    tgz = gzipSync(tar);
    trust = loadTrustFile(acmeTrustFile(join(dir, 'trust.json')));
    originalFiles = simpleEntries(tar)!;
    headers = headerOffsets(tar);
    // The metadata files come first, in this order; their content, and the signature.
    targets = headers.slice(0, 3).map((h, k) => [h + 512, headers[k + 1]!]);
    const sigAt = tar.indexOf('"sig":"', headers[1]) + 7;
    targets.push([sigAt, tar.indexOf('"', sigAt)]);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verifyBytes = async (bytes: Buffer) => {
    const p = join(dir, `m${n++ % 8}.bin`);
    writeFileSync(p, bytes);
    return verifyBundle({ bundle: p, trust });
  };

  it('the unmutated bundle verifies, plain and gzipped, and the independent reader sees its files', async () => {
    expect(originalFiles.length).toBeGreaterThan(10);
    expect(headers.length).toBe(originalFiles.length);
    expect((await verifyBytes(tar)).exitCode).toBe(0);
    expect((await verifyBytes(tgz)).exitCode).toBe(0);
  });

  it('a change the checksums do not cover is caught by the signature check (exit 3)', async () => {
    const [from, to] = targets[3]!;
    expect(to - from).toBe(88); // base64 of a 64-byte Ed25519 signature
    const bytes = Buffer.from(tar);
    bytes[from + 10] = bytes[from + 10] === 0x41 ? 0x42 : 0x41;
    const r = await verifyBytes(bytes);
    expect(r.exitCode).toBe(3);
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['signatures']);
  });

  it(
    'verified only when the files are really unchanged; otherwise exit 1, 3 or 4, never an exception',
    async () => {
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 3, arbitrary: fc.tuple(fc.constant('tar' as const), fc.array(mutationArb(tar.length, headers, targets), { minLength: 1, maxLength: 3 })) },
            // Aimed at the gzip header (first bytes) and trailer (CRC-32, length) as well.
            { weight: 1, arbitrary: fc.tuple(fc.constant('tgz' as const), fc.array(mutationArb(tgz.length, [0, Math.max(0, tgz.length - 512)]), { minLength: 1, maxLength: 3 })) },
          ),
          async ([format, mutations]) => {
            // tgz mutations hit the compressed bytes (gzip framing, CRC, deflate stream).
            let bytes = format === 'tar' ? tar : tgz;
            for (const m of mutations) bytes = applyMutation(bytes, m);
            const report = await verifyBytes(bytes);
            seen.set(report.exitCode, (seen.get(report.exitCode) ?? 0) + 1);
            const original = format === 'tar' ? tar : tgz;
            if (bytes.equals(original)) {
              expect(report.exitCode).toBe(0);
              return;
            }
            if (report.exitCode === 0) {
              const inner = format === 'tar' ? bytes : gunzipSync(bytes);
              expect(sameFiles(simpleEntries(inner), originalFiles), `verified but changed: ${JSON.stringify(mutations)}`).toBe(true);
            } else {
              expect([1, 3, 4]).toContain(report.exitCode);
              const failed = report.checks.filter((c) => c.status === 'fail');
              expect(failed.length).toBeGreaterThan(0);
              for (const c of failed) expect(c.message).not.toMatch(/\n|^\s+at\s/);
            }
          },
        ),
        params(),
      );
      // The mutations reach past the archive layer, not only into it.
      expect(seen.get(1) ?? 0).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------
// The strict JSON parser.

/** Why the strict parser may refuse what JSON.parse accepts. */
const STRICTER = /duplicate key|lone surrogate|nesting too deep|out of range/;

function compareWithJsonParse(text: string): void {
  let ours: unknown;
  let ourError: unknown = null;
  try {
    ours = parseStrictJson(text);
  } catch (e) {
    ourError = e;
  }
  if (ourError !== null && !(ourError instanceof JsonSyntaxError)) throw ourError;
  let theirs: unknown;
  let theirError: unknown = null;
  try {
    theirs = JSON.parse(text);
  } catch (e) {
    theirError = e;
  }
  if (ourError === null) {
    // Everything we accept, JSON.parse accepts, with the same value.
    expect(theirError).toBeNull();
    expect(ours).toStrictEqual(theirs);
  } else if (theirError === null) {
    expect((ourError as Error).message).toMatch(STRICTER);
  }
}

/** Character-level damage to a JSON text. */
const mutatedJsonText = fc
  .tuple(
    fc.json({ maxDepth: 4 }),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.oneof(fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', 'e', '.', 'u', '\ud800', '\udc00', '\u0000', '\ufeff', 'n', 't'), fc.string({ maxLength: 3 })),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([text, edits]) => {
    let s = text;
    for (const [pos, piece, replace] of edits) {
      const p = s.length ? pos % (s.length + 1) : 0;
      s = s.slice(0, p) + piece + s.slice(replace ? p + 1 : p);
    }
    return s;
  });

describe('strict JSON parser', () => {
  it('agrees with JSON.parse on valid JSON without duplicate keys', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        expect(parseStrictJson(text)).toStrictEqual(JSON.parse(text));
      }),
      params(),
    );
  });

  it('throws nothing but JsonSyntaxError, and only refuses more than JSON.parse for its stated reasons', { timeout: TIMEOUT }, () => {
    fc.assert(fc.property(mutatedJsonText, compareWithJsonParse), params());
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), compareWithJsonParse), params());
  });

  it('on arbitrary bytes: a value or a JsonSyntaxError', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedJsonText.map((s) => new Uint8Array(Buffer.from(s, 'utf8')))), (bytes) => {
        try {
          parseStrictJsonBytes(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(JsonSyntaxError);
        }
      }),
      params(),
    );
  });

  it('refuses every duplicated key, wherever it sits', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 6 }),
        fc.nat(),
        fc.jsonValue({ maxDepth: 1 }),
        (obj, pick, extra) => {
          const keys = Object.keys(obj);
          const dup = keys[pick % keys.length]!;
          const text = `{${[...keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`), `${JSON.stringify(dup)}:${JSON.stringify(extra)}`].join(',')}}`;
          expect(() => parseStrictJson(text)).toThrow(/duplicate key/);
          expect(() => parseStrictJson(`[0,{"x":${text}}]`)).toThrow(/duplicate key/);
        },
      ),
      params(),
    );
  });

  it('canonical JSON is a fixed point', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const c = canonicalize(v);
        expect(canonicalize(parseStrictJson(c))).toBe(c);
      }),
      params(),
    );
  });
});

// ---------------------------------------------------------------------------
// The trust file parser.

describe('trust file parser', () => {
  const pubDer = (name: string) => {
    const pem = readFileSync(new URL(`../fixtures/keys/${name}.pub`, import.meta.url), 'utf8');
    return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  };
  const KEYS = [
    { keyid: '1b0b8b2b63e5cfcd87edb8d849d3eef2fdfe63628ff33a0e1e1e1666ccb7cc33', der: pubDer('acme-signer') },
    { keyid: '2c5ce9631c36e744c9c7813947752ac0c16b93829ba7e031cffc1d31ae3c6bb7', der: pubDer('globex-signer') },
  ];

  /** Either a trust store whose keys can be read, or a usage error (exit 2). Nothing else. */
  function parsesOrUsageError(bytes: Uint8Array): void {
    let store: TrustStore;
    try {
      store = parseTrustFile(bytes, 'trust.json');
    } catch (e) {
      expect(e).toBeInstanceOf(StellaError);
      expect((e as StellaError).category).toBe('usage');
      expect((e as StellaError).message).toMatch(/^invalid trust file trust\.json: /);
      expect((e as StellaError).message).not.toMatch(/\n/);
      return;
    }
    for (const t of store.tenants()) {
      for (const k of store.keysFor(t)) expect(k.keyid).toMatch(/^[0-9a-f]{64}$/);
      expect(store.thresholdFor(t)).toBeGreaterThanOrEqual(1);
    }
  }

  const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
  const keyEntry = fc.oneof(
    fc.constantFrom(...KEYS).map((k) => ({ keyid: k.keyid, publicKey: k.der.toString('base64') })),
    fc.record({
      keyid: fc.oneof(fc.constantFrom(...KEYS.map((k) => k.keyid)), fc.string({ maxLength: 70 }), anyValue),
      publicKey: fc.oneof(
        fc.constantFrom(...KEYS.map((k) => k.der.toString('base64')), ...KEYS.map((k) => k.der.toString('base64url'))),
        fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64')),
        fc.string({ maxLength: 70 }),
        anyValue,
      ),
      comment: fc.oneof(fc.string({ maxLength: 20 }), anyValue),
      validFrom: fc.oneof(fc.constantFrom('2026-01-01T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00.5Z', ''), anyValue),
      validUntil: fc.oneof(fc.constantFrom('2027-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'never'), anyValue),
      revoked: fc.oneof(fc.record({ reason: fc.string({ maxLength: 10 }) }), anyValue),
    }),
  );
  const trustDoc = fc.record({
    version: fc.oneof(fc.constant(1), anyValue),
    tenants: fc.oneof(
      fc.dictionary(
        fc.oneof(fc.constantFrom('acme', 'globex', 'Acme', '__proto__', 'constructor', '', 'a'.repeat(64)), fc.string({ maxLength: 8 })),
        fc.oneof(fc.record({ threshold: fc.oneof(fc.integer({ min: -2, max: 5 }), anyValue), keys: fc.oneof(fc.array(keyEntry, { maxLength: 3 }), anyValue) }), anyValue),
        { maxKeys: 3 },
      ),
      anyValue,
    ),
    revoked: fc.oneof(fc.array(fc.record({ keyid: fc.oneof(fc.constantFrom(...KEYS.map((k) => k.keyid)), anyValue) }), { maxLength: 2 }), anyValue),
  });

  it('a valid trust file parses (the generators can reach the accepting path)', () => {
    const doc = { version: 1, tenants: { acme: { threshold: 1, keys: [{ keyid: KEYS[0]!.keyid, publicKey: KEYS[0]!.der.toString('base64') }] } } };
    const store = parseTrustFile(Buffer.from(JSON.stringify(doc)), 'trust.json');
    expect(store.keysFor('acme').map((k) => k.keyid)).toEqual([KEYS[0]!.keyid]);
  });

  it('structured but wrong documents: parsed or refused as usage errors', { timeout: TIMEOUT }, () => {
    let accepted = 0;
    fc.assert(
      fc.property(trustDoc, (doc) => {
        const bytes = Buffer.from(JSON.stringify(doc) ?? 'undefined');
        try {
          parseTrustFile(bytes, 'trust.json');
          accepted++;
        } catch {
          /* checked below */
        }
        parsesOrUsageError(bytes);
      }),
      params(),
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('damaged text and arbitrary bytes: usage errors only', { timeout: TIMEOUT }, () => {
    const valid = JSON.stringify({ version: 1, tenants: { acme: { threshold: 1, keys: [{ keyid: KEYS[0]!.keyid, publicKey: KEYS[0]!.der.toString('base64') }] } } }, null, 2);
    const damaged = fc
      .array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 }), fc.boolean()), { minLength: 1, maxLength: 3 })
      .map((edits) => {
        let s = valid;
        for (const [pos, piece, replace] of edits) {
          const p = pos % (s.length + 1);
          s = s.slice(0, p) + piece + s.slice(replace ? p + 1 : p);
        }
        return new Uint8Array(Buffer.from(s, 'utf8'));
      });
    fc.assert(fc.property(fc.oneof(damaged, fc.uint8Array({ maxLength: 80 })), parsesOrUsageError), params());
  });
});
