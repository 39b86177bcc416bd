import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';

/**
 * Deterministic tar output: every header field that could leak the exporting machine
 * (mtime, owner, group, user and group names, mode) is fixed. Names that do not fit
 * ustar (non-ASCII, or too long to split) get a pax header, as POSIX.1-2001 specifies.
 */
export interface TarWriterOptions {
  fd: number;
  gzipLevel?: number | undefined; // undefined: plain tar
  mtime: Date;
}

export class TarWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;

  constructor(private readonly opts: TarWriterOptions) {
    const sink = createWriteStream('', { fd: opts.fd, autoClose: false, highWaterMark: 1 << 20 });
    this.done =
      opts.gzipLevel === undefined
        ? pipeline(this.pack, sink)
        : pipeline(this.pack, createGzip({ level: opts.gzipLevel, chunkSize: 1 << 16 }), sink);
    // Surface pipeline failures through finish(), not as unhandled rejections.
    this.done.catch(() => undefined);
  }

  private header(name: string, size: number, mode: number): tar.Header {
    return { name, size, mode, mtime: this.opts.mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file' } as tar.Header;
  }

  /** A small entry whose bytes are all at hand. */
  async addBuffer(name: string, data: Uint8Array, mode = 0o644): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pack.entry(this.header(name, data.length, mode), Buffer.from(data.buffer, data.byteOffset, data.length), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** A streamed entry: `fill` writes exactly `size` bytes through `write`. */
  async addStream(
    name: string,
    size: number,
    fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
    mode = 0o644,
  ): Promise<void> {
    let entryError: Error | null = null;
    let entry!: Writable;
    const finished = new Promise<void>((resolve, reject) => {
      // tar-stream's entry is a streamx Writable; it has the write/end/drain surface we use.
      entry = this.pack.entry(this.header(name, size, mode), (err) => (err ? reject(err) : resolve())) as unknown as Writable;
    });
    finished.catch((e: Error) => {
      entryError = e;
    });
    await fill(async (chunk) => {
      if (entryError) throw entryError;
      if (!entry.write(chunk)) await once(entry, 'drain');
    });
    entry.end();
    await finished;
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  destroy(err: Error): void {
    this.pack.destroy(err);
  }
}
