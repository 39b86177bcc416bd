import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../src/crypto/dsse.js';

// The envelope of a 100,000-artifact export carries a base64 payload of tens of
// megabytes; strict decoding must not depend on the regex engine's recursion depth.
describe('decodeBase64Strict on large payloads', () => {
  it('decodes a 30 MB standard base64 payload', () => {
    const bytes = Buffer.alloc(22_000_001, 0x5a);
    bytes[7] = 0xff;
    const b64 = bytes.toString('base64');
    expect(b64.endsWith('=')).toBe(true);
    const out = decodeBase64Strict(b64);
    expect(out).not.toBeNull();
    expect(out!.equals(bytes)).toBe(true);
  });

  it('still refuses a large payload with a character outside the alphabet', () => {
    const b64 = Buffer.alloc(3_000_000, 1).toString('base64');
    const bad = b64.slice(0, 1_000_000) + '*' + b64.slice(1_000_001);
    expect(decodeBase64Strict(bad)).toBeNull();
  });

  it('refuses padding in the middle and a length that is not a multiple of 4', () => {
    expect(decodeBase64Strict('QQ==QUFB')).toBeNull();
    expect(decodeBase64Strict('QUFBQ===')).toBeNull();
    expect(decodeBase64Strict('QUFBQUF=')).toBeNull(); // non-canonical padding bits
    expect(decodeBase64Strict('QUE=')).toEqual(Buffer.from('AA'));
  });
});
