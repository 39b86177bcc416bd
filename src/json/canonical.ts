import { isWellFormed, type JsonValue } from './strict-parse.js';

/**
 * RFC 8785 (JCS) serialization. ECMAScript's own number-to-string and JSON string
 * escaping are exactly what JCS specifies, so we only add key ordering (UTF-16 code
 * units, which is what the default string comparison does) and refuse values JCS
 * cannot represent.
 */
export function canonicalize(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
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

export type { JsonValue };
