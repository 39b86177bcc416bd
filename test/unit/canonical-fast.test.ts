import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalize, canonicalizeSlow, parseCanonicalJsonBytes } from '../../src/json/canonical.js';
import { isWellFormed, isWellFormedLoop, parseStrictJsonBytes } from '../../src/json/strict-parse.js';

const key = fc.oneof(
  fc.string(),
  fc.constantFrom('__proto__', 'constructor', '0', '1', '10', '2', '01', '-1', '4294967295', 'a\u00e9', '\ue000', '😀', ''),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 5 }),
  ),
})).v;

const outcome = (f: () => string) => {
  try {
    return { ok: f() };
  } catch (e) {
    return { err: (e as Error).constructor.name };
  }
};

describe('canonicalize fast path', () => {
  it('gives exactly what the reference writer gives, errors included', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(outcome(() => canonicalize(v))).toEqual(outcome(() => canonicalizeSlow(v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('visits each value once: a deep chain of objects in key order, with one out of order at the bottom', () => {
    // Visiting the values of an object in order once to check and once to copy doubles
    // the work at every level: at this depth that would not end.
    let v: unknown = { b: 1, a: [{ d: 2, c: 3 }] };
    for (let k = 0; k < 60; k++) v = k % 2 ? { x: v } : { a: 1, x: v };
    expect(canonicalize(v)).toBe(canonicalizeSlow(v));
    expect(canonicalize(v)).toContain('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('leaves out undefined members before checking their keys, as the reference writer does', () => {
    for (const v of [{ '\ud800': undefined }, { a: 1, '\udc00': undefined }, { '0': undefined, a: 1 }, { a: undefined, b: { '\ud800': undefined } }]) {
      expect(outcome(() => canonicalize(v))).toEqual(outcome(() => canonicalizeSlow(v)));
    }
    expect(canonicalize({ '\ud800': undefined })).toBe('{}');
  });

  it('keeps a __proto__ member and orders array-index keys as strings', () => {
    const v = JSON.parse('{"__proto__":{"b":1,"a":2},"10":true,"9":false,"x":[1e21,-0,0.1]}');
    const want = '{"10":true,"9":false,"__proto__":{"a":2,"b":1},"x":[1e+21,0,0.1]}';
    expect(canonicalizeSlow(v)).toBe(want);
    expect(canonicalize(v)).toBe(want);
  });

  it('refuses what JCS cannot encode', () => {
    expect(() => canonicalize({ a: '\ud800' })).toThrow(TypeError);
    expect(() => canonicalize({ ['\udc00']: 1 })).toThrow(TypeError);
    expect(() => canonicalize([1, undefined])).toThrow(TypeError);
    expect(() => canonicalize({ a: Infinity })).toThrow(TypeError);
    expect(() => canonicalize({ a: 1n })).toThrow(TypeError);
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('never lets JSON.stringify see a toJSON, a prototype or an unsorted object, even when reusing values', () => {
    class Boxed {
      constructor(readonly a: number) {}
      toJSON() {
        return 'replaced';
      }
    }
    const date = new Date(0);
    const sorted = { a: [1, { b: 2, c: 3 }], z: 'x' };
    for (const v of [{ a: new Boxed(1) }, { d: date }, [new Boxed(2)], { a: { c: 1, b: 2 } }, sorted, [sorted, sorted]]) {
      expect(canonicalize(v)).toBe(canonicalizeSlow(v));
    }
    expect(canonicalize({ a: new Boxed(1) })).toBe('{"a":{"a":1}}');
    expect(canonicalize({ d: date })).toBe('{"d":{}}');
  });

  it('reuses nothing that JSON.stringify would read differently: hidden toJSON, a polluted prototype, a Proxy', () => {
    const hidden = { a: 1, b: 2 };
    Object.defineProperty(hidden, 'toJSON', { value: () => ({ b: 2, a: 1 }), enumerable: false });
    const hiddenArray = [1, 2];
    Object.defineProperty(hiddenArray, 'toJSON', { value: () => 'x', enumerable: false });
    const proxy = new Proxy({ a: 1 }, { get: (t, k) => (k === 'toJSON' ? () => 'proxied' : Reflect.get(t, k)) });
    for (const v of [hidden, { x: hidden }, hiddenArray, { x: hiddenArray }, proxy, [proxy]]) {
      expect(canonicalize(v)).toBe(canonicalizeSlow(v));
    }
    expect(canonicalize(hidden)).toBe('{"a":1,"b":2}');
    const proto = Object.prototype as { toJSON?: () => unknown };
    proto.toJSON = () => 'polluted';
    try {
      expect(canonicalize({ a: 1 })).toBe('{"a":1}');
      expect(canonicalize([{ a: 1 }])).toBe('[{"a":1}]');
    } finally {
      delete proto.toJSON;
    }
  });

  it('gives the reference output for arrays that are not plain (a subclass, extra members)', () => {
    class List extends Array<unknown> {}
    const list = new List();
    list.push({ b: 1, a: 2 }, 3);
    const extra = Object.assign([1, 2], { note: 'x' });
    expect(canonicalize(list)).toBe(canonicalizeSlow(list));
    expect(canonicalize(extra)).toBe(canonicalizeSlow(extra));
  });
});

describe('isWellFormed', () => {
  it('uses the engine check on this Node, and it agrees with the reference loop on any UTF-16 string', () => {
    expect(isWellFormed).not.toBe(isWellFormedLoop);
    const pieces = fc.constantFrom('a', '\u00e9', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00', '\ue000', '\uffff');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.array(pieces, { maxLength: 8 }).map((a) => a.join(''))), (s) => {
        expect(isWellFormed(s)).toBe(isWellFormedLoop(s));
      }),
      { numRuns: 2000 },
    );
    expect(isWellFormed('x\ud800')).toBe(false);
    expect(isWellFormed('\udc00x')).toBe(false);
    expect(isWellFormed('\ud83d\ude00')).toBe(true);
  });
});

describe('parseCanonicalJsonBytes', () => {
  const strict = (b: Uint8Array) => {
    try {
      return { doc: parseStrictJsonBytes(b) };
    } catch (e) {
      return { err: (e as Error).message };
    }
  };

  it('returns for canonical text exactly what the strict parser returns', () => {
    fc.assert(
      fc.property(value, (v) => {
        let text: string;
        try {
          text = canonicalize(v);
        } catch {
          return; // not representable: nothing canonical to read
        }
        const bytes = Buffer.from(text, 'utf8');
        const fast = parseCanonicalJsonBytes(bytes);
        const s = strict(bytes);
        if ('err' in s) expect(fast).toBeUndefined();
        else {
          // node's own comparison: vitest's reads an own "constructor" key as a type.
          expect(isDeepStrictEqual(fast, s.doc)).toBe(true);
          expect(canonicalize(fast)).toBe(text);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('returns nothing for text the strict parser refuses, or that is not canonical', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const cases: [string, 'refused' | 'not canonical'][] = [
      ['{"a":1,"a":1}', 'refused'],
      ['{"a":1,"a":2}', 'refused'],
      ['["\\ud800"]', 'refused'],
      ['[1e400]', 'refused'],
      [deep(130), 'refused'],
      ['\ufeff{}', 'refused'],
      ['{"a":1} ', 'not canonical'],
      ['{"b":1,"a":2}', 'not canonical'],
      ['[1.0]', 'not canonical'],
      ['[-0]', 'not canonical'],
      ['["\\u0041"]', 'not canonical'],
      ['["\\/"]', 'not canonical'],
    ];
    for (const [text, why] of cases) {
      const bytes = Buffer.from(text, 'utf8');
      expect(parseCanonicalJsonBytes(bytes), text).toBeUndefined();
      expect('err' in strict(bytes), text).toBe(why === 'refused');
    }
    // At the nesting bound, both accept; one deeper, both refuse.
    for (const [n, ok] of [[129, true], [130, false]] as const) {
      const bytes = Buffer.from(deep(n), 'utf8');
      expect('doc' in strict(bytes)).toBe(ok);
      expect(parseCanonicalJsonBytes(bytes) !== undefined).toBe(ok);
    }
    expect(parseCanonicalJsonBytes(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]))).toBeUndefined(); // not UTF-8
  });
});
