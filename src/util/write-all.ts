import { writeSync } from 'node:fs';

/**
 * Write the first `length` bytes of `b` to `fd`: at `pos` (a positional write, which
 * leaves the descriptor's offset alone), or at its offset when `pos` is null. A write may
 * write less than asked; this goes on until all of it is written, or throws.
 */
export function writeAll(fd: number, b: Uint8Array, pos: number | null = null, length = b.length): void {
  let off = 0;
  while (off < length) off += writeSync(fd, b, off, length - off, pos === null ? null : pos + off);
}
