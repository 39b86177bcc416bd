import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { unsafeNameReason, unsafeNameReasonFull } from '../../src/bundle/layout.js';

describe('unsafeNameReason fast path', () => {
  it('gives the full check\'s answer for any name', () => {
    const piece = fc.constantFrom('a', 'Z', '0', '.', '..', '/', '\\', ':', 'C:', ' ', '~', '\u0000', '\u001f', '\u007f', '\u0085', 'e\u0301', '\u00e9', '\ud800', '😀');
    fc.assert(
      fc.property(fc.oneof(fc.array(piece, { maxLength: 10 }).map((a) => a.join('')), fc.string({ unit: 'binary' })), (name) => {
        expect(unsafeNameReason(name)).toBe(unsafeNameReasonFull(name));
      }),
      { numRuns: 5000 },
    );
  });

  it('still refuses the plain-ASCII problems, with the full reason', () => {
    expect(unsafeNameReason('')).toBe('empty name');
    expect(unsafeNameReason('/etc/passwd')).toBe('absolute path');
    expect(unsafeNameReason('c:x')).toBe('drive letter');
    expect(unsafeNameReason('a\\b')).toBe('backslash in name');
    expect(unsafeNameReason('a//b')).toBe('empty path segment');
    expect(unsafeNameReason('a/')).toBe('empty path segment');
    expect(unsafeNameReason('a/./b')).toBe('"." path segment');
    expect(unsafeNameReason('../b')).toBe('".." path segment');
    expect(unsafeNameReason('x'.repeat(4097))).toBe('name longer than 4096 bytes');
    expect(unsafeNameReason('x'.repeat(4096))).toBeNull();
    expect(unsafeNameReason('a/.b/...c/d..')).toBeNull();
  });
});
