import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

/** 1 MiB reads: about 30% faster here than Node's 64 KiB default for large files. */
export const CHUNK = 1 << 20;

const shared = Buffer.allocUnsafe(CHUNK);

export interface ReadResult {
  sha256: string;
  size: number;
  /** The whole content when the file is at most `keepUpTo` bytes. */
  content: Buffer | null;
}

/**
 * Read a file once, hashing as it goes. `onChunk` sees each chunk before the buffer is
 * reused (the writing pass streams it into the archive). Reads at most `limit + 1` bytes
 * so a file that grew is noticed without reading all of it.
 */
export async function readHashed(
  path: string,
  opts: { keepUpTo?: number; limit?: number; onChunk?: (chunk: Buffer) => Promise<void> | void } = {},
): Promise<ReadResult> {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const st = fstatSync(fd);
    const keep = opts.keepUpTo !== undefined && st.size <= opts.keepUpTo;
    const kept: Buffer[] = [];
    let size = 0;
    const limit = opts.limit ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const want = Math.min(CHUNK, limit + 1 - size);
      if (want <= 0) break;
      // A chunk handed to onChunk may be queued by a stream, so it must not be reused.
      const buf = keep || opts.onChunk ? Buffer.allocUnsafe(want) : shared;
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      size += n;
      if (keep) kept.push(chunk);
      if (opts.onChunk && size <= limit) await opts.onChunk(chunk);
    }
    return { sha256: hash.digest('hex'), size, content: keep ? Buffer.concat(kept) : null };
  } finally {
    closeSync(fd);
  }
}
