/** Printable ASCII only: NFC as it stands, and one UTF-8 byte per character. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** UTF-8 length of a short string: printable ASCII is one byte a character, no encoder call. */
export const utf8Length = (s: string): number => (PRINTABLE_ASCII.test(s) ? s.length : Buffer.byteLength(s, 'utf8'));

/**
 * Write pieces one after another into `target` from `at` (strings as UTF-8, bytes as they
 * are); returns where they end. A piece that does not fit would be cut short without a
 * word by Buffer#write, so each is checked whole. Filling a buffer sized beforehand from
 * short pieces touches its memory once, where one long string would take fresh memory for
 * itself and its flattened copy as well.
 */
export function writePieces(target: Buffer, at: number, pieces: Iterable<string | Uint8Array>): number {
  for (const p of pieces) {
    const size = typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
    if (size > target.length - at) throw new Error(`a piece of ${size} bytes does not fit at ${at} of ${target.length}`);
    if (typeof p === 'string') target.write(p, at, 'utf8');
    else target.set(p, at);
    at += size;
  }
  return at;
}

/** UTF-8 length of pieces one after another, none kept. */
export function utf8LengthOf(pieces: Iterable<string>): number {
  let n = 0;
  for (const p of pieces) n += Buffer.byteLength(p, 'utf8');
  return n;
}
