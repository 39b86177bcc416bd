import { types } from 'node:util';
import { isWellFormed, MAX_DEPTH, utf8Text, type JsonValue } from './strict-parse.js';

/**
 * RFC 8785 (JCS) serialization. ECMAScript's own number-to-string and JSON string
 * escaping are exactly what JCS specifies, so we only add key ordering (UTF-16 code
 * units, which is what the default string comparison does) and refuse values JCS
 * cannot represent.
 */
export function canonicalize(value: unknown): string {
  // Fast path: a copy with keys inserted in sorted order, serialised by one native
  // JSON.stringify (whose string and number output is what JCS specifies). Five times
  // faster on a 100,000-artifact manifest, where the writer below took seconds. V8 lists
  // array-index keys ("0", "17") first whatever the insertion order, so an object with
  // one sends the whole value down the writer below.
  let copy: unknown;
  try {
    copy = sortedCopy(value);
  } catch (e) {
    if (e !== INDEX_KEY) throw e;
    return canonicalizeSlow(value);
  }
  return JSON.stringify(copy);
}

/** The reference serializer; also the fallback for objects with array-index keys. */
export function canonicalizeSlow(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

const INDEX_KEY = Symbol('array-index key');
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * The value with every object's keys in sorted order: the value itself where that holds
 * already (a 100,000-artifact manifest built in key order allocates nothing here), else
 * a copy of just the parts that needed reordering.
 */
function sortedCopy(v: unknown): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('JCS cannot encode a non-finite number');
      return v;
    case 'string':
      if (!isWellFormed(v)) throw new TypeError('JCS cannot encode a lone surrogate');
      return v;
    case 'object': {
      if (Array.isArray(v)) {
        let out: unknown[] | null = reusable(v, Array.prototype) ? null : bareArray(v.length);
        for (let k = 0; k < v.length; k++) {
          const item: unknown = v[k];
          const c = sortedCopy(item);
          if (c !== item && out === null) {
            out = bareArray(v.length);
            for (let j = 0; j < k; j++) out[j] = v[j];
          }
          if (out) out[k] = c;
        }
        return out ?? v;
      }
      const obj = v as Record<string, unknown>;
      const own = Object.keys(obj);
      if (inOrder(obj, own)) {
        // Each value visited once, and copied into a new object only from the first one
        // that changes (as for arrays above): a value visited twice per level would make
        // a deep chain of objects cost exponential time.
        let out: Record<string, unknown> | null = null;
        for (let k = 0; k < own.length; k++) {
          const key = own[k]!;
          const value = obj[key];
          const c = sortedCopy(value);
          if (c !== value && out === null) {
            out = Object.create(null) as Record<string, unknown>;
            for (let j = 0; j < k; j++) out[own[j]!] = obj[own[j]!];
          }
          if (out) out[key] = c;
        }
        return out ?? obj;
      }
      const keys = own.filter((k) => obj[k] !== undefined).sort();
      // Reused as is only when JSON.stringify would emit exactly these members in this
      // order: a plain object, keys already sorted, none undefined.
      let same = keys.length === own.length && (reusable(obj, Object.prototype) || reusable(obj, null));
      for (let k = 0; k < keys.length && same; k++) same = keys[k] === own[k];
      const values = new Array<unknown>(keys.length);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        checkKey(key);
        const value = obj[key];
        values[k] = sortedCopy(value);
        if (values[k] !== value) same = false;
      }
      if (same) return obj;
      // No prototype: a "__proto__" key stays an ordinary member.
      const out = Object.create(null) as Record<string, unknown>;
      for (let k = 0; k < keys.length; k++) out[keys[k]!] = values[k];
      return out;
    }
    default:
      throw new TypeError(`JCS cannot encode a value of type ${typeof v}`);
  }
}

/**
 * Whether JSON.stringify would emit an object's members as they stand: plain, keys
 * already in sorted order, none undefined (its values are the caller's to check). The
 * common case (manifests are built and parsed in key order) decided without the sorted
 * copy of the keys and the array of values the general path makes for every object,
 * 100,000 artifacts a manifest. Throws as the general path does for a key JCS cannot
 * encode; a member left out (undefined) is not checked, as there.
 */
function inOrder(obj: Record<string, unknown>, own: readonly string[]): boolean {
  if (!(reusable(obj, Object.prototype) || reusable(obj, null))) return false;
  for (let k = 0; k < own.length; k++) {
    const key = own[k]!;
    if (k > 0 && !(own[k - 1]! < key)) return false;
    if (obj[key] === undefined) return false;
  }
  for (let k = 0; k < own.length; k++) checkKey(own[k]!);
  return true;
}

// Keys that passed checkKey: the same few names recur in every artifact.
const goodKeys = new Set<string>();

function checkKey(key: string): void {
  if (goodKeys.has(key)) return;
  if (ARRAY_INDEX.test(key)) throw INDEX_KEY;
  if (!isWellFormed(key)) throw new TypeError('JCS cannot encode a lone surrogate');
  if (goodKeys.size < 256) goodKeys.add(key);
}

/** An array without a prototype: a toJSON planted on Array or Object.prototype cannot reach it. */
function bareArray(n: number): unknown[] {
  const a = new Array<unknown>(n);
  Object.setPrototypeOf(a, null);
  return a;
}

/**
 * Whether JSON.stringify would read `v` as plain data: the expected prototype, no
 * toJSON anywhere on its chain (own, hidden or polluted), and not a Proxy whose traps
 * could answer differently the next time. Getters are read again by JSON.stringify; the
 * values this module serialises (parsed JSON, manifests built here) have none.
 */
function reusable(v: object, proto: object | null): boolean {
  return Object.getPrototypeOf(v) === proto && !('toJSON' in v) && !types.isProxy(v);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

function write(v: unknown, out: string[]): void {
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError('JCS cannot encode a non-finite number');
      out.push(String(v)); // String(-0) is "0", as JCS requires
      return;
    case 'string':
      if (!isWellFormed(v)) throw new TypeError('JCS cannot encode a lone surrogate');
      out.push(JSON.stringify(v));
      return;
    case 'object': {
      if (Array.isArray(v)) {
        out.push('[');
        for (let k = 0; k < v.length; k++) {
          if (k) out.push(',');
          write(v[k], out);
        }
        out.push(']');
        return;
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      out.push('{');
      for (let k = 0; k < keys.length; k++) {
        if (k) out.push(',');
        const key = keys[k]!;
        if (!isWellFormed(key)) throw new TypeError('JCS cannot encode a lone surrogate');
        out.push(JSON.stringify(key), ':');
        write(obj[key], out);
      }
      out.push('}');
      return;
    }
    default:
      throw new TypeError(`JCS cannot encode a value of type ${typeof v}`);
  }
}

/**
 * The document, when `bytes` are canonical JSON (RFC 8785) that the strict parser
 * accepts; otherwise undefined, and the caller parses strictly to learn why. The engine's
 * JSON.parse reads it (with the canonical check, 0.6 s for an 18 MB manifest here, against
 * 0.9 to 1.1 s for the strict parser and the same check) and re-serialising must give the
 * same text: that cannot hold for duplicate keys (one key
 * comes back), whitespace, non-canonical numbers or escapes, and lone surrogates or
 * numbers out of range do not serialise at all. The nesting bound is checked apart. So a
 * document returned here is exactly what parseStrictJsonBytes would return.
 */
export function parseCanonicalJsonBytes(bytes: Uint8Array): JsonValue | undefined {
  const text = utf8Text(bytes);
  if (text === null || text.charCodeAt(0) === 0xfeff) return undefined;
  let doc: JsonValue;
  try {
    doc = JSON.parse(text) as JsonValue;
    if (deeperThan(doc, MAX_DEPTH, 0) || canonicalize(doc) !== text) return undefined;
  } catch {
    return undefined;
  }
  return doc;
}

/** Whether a value lies deeper than `max`, counted as the strict parser does (the top at 0). */
function deeperThan(v: JsonValue, max: number, depth: number): boolean {
  if (depth > max) return true;
  if (v === null || typeof v !== 'object') return false;
  // Index loops and own keys only: nothing planted on a prototype can skip a value.
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) if (deeperThan(v[k]!, max, depth + 1)) return true;
    return false;
  }
  const keys = Object.keys(v);
  for (let k = 0; k < keys.length; k++) if (deeperThan(v[keys[k]!]!, max, depth + 1)) return true;
  return false;
}

export type { JsonValue };
