/** Printable ASCII only: NFC as it stands, and one UTF-8 byte per character. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** UTF-8 length of a short string: printable ASCII is one byte a character, no encoder call. */
export const utf8Length = (s: string): number => (PRINTABLE_ASCII.test(s) ? s.length : Buffer.byteLength(s, 'utf8'));

/**
 * Write strings one after another into `target` from `at`, as UTF-8; returns where they
 * end. A piece that does not fit would be cut short without a word by Buffer#write, so
 * each is checked whole. Filling a buffer sized beforehand from short pieces touches its
 * memory once, where one long string would take fresh memory for itself and its
 * flattened copy as well.
 */
export function writeUtf8Pieces(target: Buffer, at: number, pieces: Iterable<string>): number {
  for (const p of pieces) {
    const n = target.write(p, at, 'utf8');
    if (n !== Buffer.byteLength(p, 'utf8')) throw new Error(`a piece of ${Buffer.byteLength(p, 'utf8')} bytes does not fit at ${at} of ${target.length}`);
    at += n;
  }
  return at;
}
