/**
 * RFC 8785 canonical JSON and the strict parser, against the vectors in
 * test/vectors/rfc8785-jcs.json (taken from the RFC or computed from its rules).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalize } from '../../src/json/canonical.js';
import { JsonSyntaxError, parseStrictJson, parseStrictJsonBytes } from '../../src/json/strict-parse.js';

interface JcsCase {
  name: string;
  input: string;
  canonical: string;
}
interface JcsVectors {
  cases: JcsCase[];
  notCanonicalizable: { name: string; input: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/rfc8785-jcs.json', import.meta.url), 'utf8')) as JcsVectors;

/** The canonical form of a JSON text, or the error that stopped it. */
function canonicalOf(text: string): string {
  return canonicalize(parseStrictJson(text));
}

describe('RFC 8785 vectors', () => {
  it('has vectors to run', () => {
    expect(vectors.cases.length).toBeGreaterThan(20);
    expect(vectors.notCanonicalizable.length).toBeGreaterThan(0);
  });

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(canonicalOf(c.input)).toBe(c.canonical);
    // The canonical form is a fixed point and survives a round trip through bytes.
    const bytes = canonicalBytes(parseStrictJson(c.input));
    expect(bytes.equals(Buffer.from(c.canonical, 'utf8'))).toBe(true);
    expect(canonicalize(parseStrictJsonBytes(bytes))).toBe(c.canonical);
  });

  it.each(vectors.notCanonicalizable.map((c) => [c.name, c] as const))('refuses %s', (_name, c) => {
    // Refused at parse time (so a verifier never sees the value), with our error type.
    expect(() => parseStrictJson(c.input)).toThrow(JsonSyntaxError);
  });

  it('refuses values JCS cannot represent when they come from code, not text', () => {
    expect(() => canonicalize([Number.NaN])).toThrow(TypeError);
    expect(() => canonicalize({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalize({ a: '\udead' })).toThrow(TypeError);
    expect(() => canonicalize({ '\ud800': 1 })).toThrow(TypeError);
    expect(() => canonicalize({ a: 1n })).toThrow(TypeError);
    expect(() => canonicalize(() => 1)).toThrow(TypeError);
  });

  it('sorts keys by UTF-16 code units, not by code points or UTF-8 bytes', () => {
    // U+FB33 sorts after U+1F600 in UTF-16 (0xFB33 > 0xD83D) though its code point is lower.
    expect(canonicalize({ '\ufb33': 1, '\u{1f600}': 2 })).toBe('{"\u{1f600}":2,"\ufb33":1}');
  });
});

describe('strict JSON parser', () => {
  const syntaxError = (text: string): JsonSyntaxError => {
    try {
      parseStrictJson(text);
    } catch (e) {
      expect(e).toBeInstanceOf(JsonSyntaxError);
      return e as JsonSyntaxError;
    }
    throw new Error(`accepted ${JSON.stringify(text)}`);
  };

  it('refuses duplicate keys, also when they are spelled differently', () => {
    expect(syntaxError('{"a":1,"a":2}').message).toMatch(/duplicate key "a"/);
    expect(syntaxError('{"a":1,"\\u0061":2}').message).toMatch(/duplicate key/);
    expect(syntaxError('{"x":{"k":1,"k":1}}').message).toMatch(/duplicate key "k"/);
    expect(syntaxError('{"__proto__":1,"__proto__":2}').message).toMatch(/duplicate key/);
    // Same key in sibling objects is fine.
    expect(parseStrictJson('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('makes __proto__ and constructor plain own properties that pollute nothing', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":{"__proto__":null}}') as Record<string, unknown>;
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(Object.hasOwn(v, 'constructor')).toBe(true);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor', 'a']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')!.value).toEqual({ polluted: true });
    expect((v as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect((Object.prototype as { polluted?: unknown }).polluted).toBeUndefined();
    const inner = v.a as Record<string, unknown>;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(inner, '__proto__')!.value).toBeNull();
    // And such keys survive canonicalisation as data.
    expect(canonicalize(v)).toBe('{"__proto__":{"polluted":true},"a":{"__proto__":null},"constructor":{"prototype":{"polluted":true}}}');
  });

  it('refuses lone surrogates, escaped or raw', () => {
    expect(syntaxError('"\\ud800"').message).toMatch(/lone surrogate/);
    expect(syntaxError('"\\udc00\\ud800"').message).toMatch(/lone surrogate/);
    expect(syntaxError('{"\\udfff":1}').message).toMatch(/lone surrogate/);
    expect(syntaxError('"\ud800"').message).toMatch(/lone surrogate/);
    // A proper pair is fine, escaped or not.
    expect(parseStrictJson('"\\ud83d\\ude00"')).toBe('\u{1f600}');
    expect(parseStrictJson('"\u{1f600}"')).toBe('\u{1f600}');
  });

  it('bounds the nesting depth without overflowing the stack', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => parseStrictJson(deep(100))).not.toThrow();
    expect(syntaxError(deep(1000)).message).toMatch(/nesting too deep/);
    expect(syntaxError(deep(200_000)).message).toMatch(/nesting too deep/);
    expect(syntaxError('{"a":'.repeat(100_000)).message).toMatch(/nesting too deep/);
  });

  it('refuses a byte order mark, invalid UTF-8 and trailing data', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]);
    expect(() => parseStrictJsonBytes(bom)).toThrow(/byte order mark/);
    expect(() => parseStrictJsonBytes(Buffer.from([0x22, 0xff, 0x22]))).toThrow(/invalid UTF-8/);
    expect(() => parseStrictJsonBytes(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toThrow(JsonSyntaxError); // CESU surrogate
    expect(syntaxError('{} {}').message).toMatch(/trailing data/);
    expect(syntaxError('{}x').message).toMatch(/trailing data/);
    expect(syntaxError('1 2').message).toMatch(/trailing data/);
    expect(syntaxError('{}\u0000').message).toMatch(/trailing data/);
    // Whitespace around the value is allowed, as in RFC 8259.
    expect(parseStrictJson(' \t\r\n{}\n')).toEqual({});
  });

  it('refuses what RFC 8259 does not allow', () => {
    for (const bad of [
      '',
      ' ',
      '{',
      '[1,]',
      '{"a":1,}',
      "{'a':1}",
      '{a:1}',
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      '0x10',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      'True',
      '"\\x41"',
      '"\\u12"',
      '"\t"',
      '"\u0001"',
      '"unterminated',
      '[1 2]',
      '{"a" 1}',
      '/* c */ {}',
      '\u00a0{}',
    ]) {
      expect(() => parseStrictJson(bad), JSON.stringify(bad)).toThrow(JsonSyntaxError);
    }
  });

  it('reports the offset of the problem', () => {
    const e = syntaxError('{"a":1,"a":2}');
    expect(e.offset).toBeGreaterThan(0);
    expect(e.offset).toBeLessThanOrEqual(13);
    expect(e.message).toMatch(/at offset \d+$/);
  });

  it('agrees with JSON.parse on ordinary documents', () => {
    const text = '{"s":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9","n":[0,-0.5,1e3,-2E-2,123456789012],"t":true,"f":false,"z":null,"o":{},"a":[]}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it('refuses numbers that do not fit a double', () => {
    expect(syntaxError('1e400').message).toMatch(/out of range/);
    expect(syntaxError('-1e400').message).toMatch(/out of range/);
    // Underflow to zero is a finite value, as in JSON.parse.
    expect(parseStrictJson('1e-400')).toBe(0);
  });
});
