import { createReadStream, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { usageError } from '../errors.js';
import { TarFormatError, TarReader, type EntrySink, type TarEntryHeader, type TarReaderLimits, DEFAULT_TAR_LIMITS } from './tar-reader.js';

export interface ArchiveLimits extends TarReaderLimits {
  /** Uncompressed bytes at most: stops decompression bombs long before they cost much. */
  maxArchiveBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  ...DEFAULT_TAR_LIMITS,
  maxArchiveBytes: 64 * 1024 ** 3,
};

export class StopReading extends Error {}

/**
 * Stream an archive (plain or gzip, detected by magic bytes, never by name) through the
 * strict tar reader. A missing or unreadable file is an input error (exit 2); anything
 * wrong with the bytes is a TarFormatError for the caller to report.
 * `onEntry` may throw StopReading to end early (diff only needs the metadata).
 */
export async function readArchive(
  path: string,
  onEntry: (h: TarEntryHeader) => EntrySink,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<{ gzip: boolean; bytes: number; stopped: boolean }> {
  const { gzip, size } = sniffGzip(path);
  const reader = new TarReader(onEntry, limits);
  const src = createReadStream(path, { highWaterMark: 1 << 20 });
  const gunzip: Gunzip | null = gzip ? createGunzip({ chunkSize: 1 << 18 }) : null;
  const stream = gunzip ? src.pipe(gunzip) : src;
  if (gzip) src.on('error', (e) => stream.destroy(e));
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limits.maxArchiveBytes) {
        throw new TarFormatError(
          `archive expands beyond ${limits.maxArchiveBytes} bytes (raise the limit with --max-archive-bytes if this bundle is genuine)`,
          bytes,
        );
      }
      reader.write(chunk);
    }
    reader.end();
    // zlib quietly stops at a gzip member followed by a zero byte and ignores the rest of
    // the file: bytes no check would cover. bytesWritten counts the compressed input used.
    if (gunzip && gunzip.bytesWritten !== size) {
      throw new TarFormatError(`${size - gunzip.bytesWritten} bytes after the end of the gzip stream`, bytes);
    }
    return { gzip, bytes, stopped: false };
  } catch (e) {
    src.destroy();
    if (gzip) stream.destroy();
    if (e instanceof StopReading) return { gzip, bytes, stopped: true };
    if (e instanceof TarFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new TarFormatError(`gzip stream is corrupt or truncated (${code})`, bytes);
    }
    throw e;
  }
}

function sniffGzip(path: string): { gzip: boolean; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('BUNDLE_UNREADABLE', code === 'ENOENT' ? `bundle ${path} does not exist` : `cannot read bundle ${path} (${code})`);
  }
  try {
    const b = Buffer.alloc(2);
    const n = readSync(fd, b, 0, 2, 0);
    return { gzip: n === 2 && b[0] === 0x1f && b[1] === 0x8b, size: fstatSync(fd).size };
  } catch (e) {
    throw usageError('BUNDLE_UNREADABLE', `cannot read bundle ${path} (${(e as NodeJS.ErrnoException).code})`);
  } finally {
    closeSync(fd);
  }
}
