import { once } from 'node:events';
import { writeAll } from '../util/write-all.js';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * Deterministic tar output: every header field that could leak the exporting machine
 * (mtime, owner, group, user and group names) is fixed, and the mode is 0644 or 0755.
 * Names that do not fit ustar (non-ASCII, or too long to split) get a pax header, as
 * POSIX.1-2001 specifies, followed by a ustar header named `PaxHeader`.
 *
 * We write headers ourselves rather than through a tar library: with every size known
 * before the first byte, each entry's offset is known too, so the export can write
 * entries in parallel at their final positions (export/blob-copy.ts). The bytes are the
 * same as tar-stream's for the same entries (the golden bundle did not change).
 */
export const BLOCK = 512;
/** Two zero blocks end the archive. */
export const END_OF_ARCHIVE = 2 * BLOCK;

export const padOf = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/**
 * Writes `value`, a whole number from 0 that fits, as `digits` zero-padded octal digits
 * and a space (no NUL); returns the sum of those bytes. Anything else is a caller's bug
 * (a bundle's time is checked where it is given: util/time.ts), and throws. Digit by
 * digit into the buffer: with a string per field and a pass to sum each, a blob's header
 * took 1.2 µs, against 0.7 µs now (microbenchmark; copying a kept 1 KiB blob takes about
 * 5 µs in all).
 */
function octal(buf: Buffer, at: number, value: number, digits: number): number {
  if (!(Number.isSafeInteger(value) && value >= 0 && value < 8 ** digits)) throw new RangeError(`a tar field of ${digits} octal digits cannot hold ${value}`);
  buf[at + digits] = 0x20;
  let sum = 0x20;
  for (let k = digits - 1; k >= 0; k--) {
    const d = 0x30 + (value % 8);
    buf[at + k] = d;
    sum += d;
    value = Math.floor(value / 8);
  }
  return sum;
}

/** Writes an ASCII string at `at`; returns the sum of its bytes. */
function asciiInto(buf: Buffer, at: number, s: string): number {
  let sum = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    buf[at + k] = c;
    sum += c;
  }
  return sum;
}

/**
 * A header with the fields every entry of one mode, time and type shares (ids, time,
 * magic, version, device numbers), and the sum of its bytes with the checksum field
 * counted as spaces. Headers are copied from it: building each from zeros and summing
 * all 512 bytes cost an export of 100,000 small files 0.3 to 0.75 s more CPU (paired runs).
 */
interface HeaderTemplate {
  bytes: Buffer;
  sum: number;
}
const templates = new Map<string, HeaderTemplate>();

let last: { mode: number; mtimeSec: number; type: number; t: HeaderTemplate } | null = null;

function templateOf(mode: number, mtimeSec: number, type: number): HeaderTemplate {
  // Runs of entries share one: no key is made for them.
  if (last !== null && last.mode === mode && last.mtimeSec === mtimeSec && last.type === type) return last.t;
  const key = `${mode}:${mtimeSec}:${type}`;
  let t = templates.get(key);
  if (!t) {
    const b = Buffer.alloc(BLOCK);
    octal(b, 100, mode & 0o7777, 6);
    octal(b, 108, 0, 6); // uid
    octal(b, 116, 0, 6); // gid
    octal(b, 136, mtimeSec, 11);
    b[156] = type;
    b.write('ustar\0', 257, 'latin1');
    b.write('00', 263, 'latin1');
    // uname and gname stay empty.
    octal(b, 329, 0, 6); // devmajor
    octal(b, 337, 0, 6); // devminor
    let sum = 8 * 0x20;
    for (let k = 0; k < BLOCK; k++) if (k < 148 || k >= 156) sum += b[k]!;
    if (templates.size >= 16) templates.clear();
    templates.set(key, (t = { bytes: b, sum }));
  }
  last = { mode, mtimeSec, type, t };
  return t;
}

/** A ustar header block at `at` of `b`; `name` and `prefix` are ASCII and fit their fields. */
function ustarHeaderInto(b: Buffer, at: number, name: string, prefix: string, size: number, mode: number, mtimeSec: number, type: number): void {
  const t = templateOf(mode, mtimeSec, type);
  t.bytes.copy(b, at);
  let sum = t.sum + asciiInto(b, at, name);
  if (size >= 8 ** 11) {
    // GNU base-256 for entries of 8 GiB and more.
    b[at + 124] = 0x80;
    sum += 0x80;
    let v = size;
    for (let k = 11; k > 0; k--) {
      b[at + 124 + k] = v % 256;
      sum += v % 256;
      v = Math.floor(v / 256);
    }
  } else sum += octal(b, at + 124, size, 11);
  if (prefix) sum += asciiInto(b, at + 345, prefix);
  octal(b, at + 148, sum, 6);
}

function ustarHeader(name: string, prefix: string, size: number, mode: number, mtimeSec: number, type: number): Buffer {
  const b = Buffer.allocUnsafe(BLOCK);
  ustarHeaderInto(b, 0, name, prefix, size, mode, mtimeSec, type);
  return b;
}

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Split a pure-ASCII name into ustar name and prefix, or null when it does not fit. */
function splitUstar(name: string): [string, string] | null {
  if (!ASCII.test(name)) return null;
  let base = name;
  let prefix = '';
  while (base.length > 100) {
    const i = base.indexOf('/');
    if (i === -1) return null;
    prefix += prefix ? '/' + base.slice(0, i) : base.slice(0, i);
    base = base.slice(i + 1);
  }
  return prefix.length > 155 ? null : [base, prefix];
}

/** A pax record: its decimal length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body, 'utf8');
  let digits = String(len).length;
  if (String(len + digits).length > digits) digits++;
  return `${len + digits}${body}`;
}

/** The header block(s) of a regular file: 512 bytes, or a pax header, its data and 512. */
export function entryHeader(name: string, size: number, mode: number, mtimeSec: number): Buffer {
  const split = splitUstar(name);
  if (split) return ustarHeader(split[0], split[1], size, mode, mtimeSec, 0x30);
  const pax = Buffer.from(paxRecord('path', name), 'utf8');
  return Buffer.concat([
    ustarHeader('PaxHeader', '', pax.length, mode, mtimeSec, 0x78),
    pax,
    Buffer.alloc(padOf(pax.length)),
    ustarHeader('PaxHeader', '', size, mode, mtimeSec, 0x30),
  ]);
}

/**
 * entryHeader written at `at` of `target`, when it is one ustar block (a name that needs
 * no pax header): returns BLOCK, or 0 having written nothing. The caller makes room.
 */
export function entryHeaderInto(target: Buffer, at: number, name: string, size: number, mode: number, mtimeSec: number): number {
  const split = splitUstar(name);
  if (!split) return 0;
  ustarHeaderInto(target, at, split[0], split[1], size, mode, mtimeSec, 0x30);
  return BLOCK;
}

/** Length of entryHeader(name, ...) without building it. */
export function entryHeaderLength(name: string): number {
  if (splitUstar(name)) return BLOCK;
  const pax = Buffer.byteLength(paxRecord('path', name), 'utf8');
  return 2 * BLOCK + pax + padOf(pax);
}

/** Bytes an entry takes in the archive: header(s), content, padding. */
export const entrySpan = (headerBytes: number, size: number): number => headerBytes + size + padOf(size);

export interface TarWriterOptions {
  fd: number;
  gzipLevel?: number | undefined; // undefined: plain tar
  mtime: Date;
}

/**
 * Sequential writer, for output that must be produced in order (gzip). Writes are
 * coalesced into 1 MiB pieces. Output goes to the descriptor with plain writes: an fs
 * stream would close a descriptor it does not own when destroyed.
 */
export class TarWriter {
  private readonly gzip: Gzip | null;
  private readonly done: Promise<void>;
  private readonly mtimeSec: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private fill = 0;
  private failed: Error | null = null;

  constructor(private readonly opts: TarWriterOptions) {
    this.mtimeSec = Math.floor(opts.mtime.getTime() / 1000);
    if (opts.gzipLevel === undefined) {
      this.gzip = null;
      this.done = Promise.resolve();
      return;
    }
    const gz = createGzip({ level: opts.gzipLevel, chunkSize: 1 << 16 });
    this.gzip = gz;
    gz.on('data', (chunk: Buffer) => {
      try {
        writeAll(opts.fd, chunk);
      } catch (e) {
        this.failed ??= e as Error;
        gz.destroy(e as Error);
      }
    });
    this.done = new Promise<void>((resolve, reject) => {
      gz.on('end', resolve);
      gz.on('error', (e) => {
        this.failed ??= e;
        reject(e);
      });
      gz.on('close', () => (this.failed ? reject(this.failed) : resolve()));
    });
    // Surface failures through finish() or the next write, not as unhandled rejections.
    this.done.catch(() => undefined);
  }

  private async put(data: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    let off = 0;
    while (off < data.length) {
      const n = Math.min(this.buf.length - this.fill, data.length - off);
      this.buf.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.fill === 0) return;
    const full = this.buf.subarray(0, this.fill);
    this.fill = 0;
    if (!this.gzip) {
      writeAll(this.opts.fd, full);
      return;
    }
    this.buf = Buffer.allocUnsafe(1 << 20); // zlib may still hold the previous one
    if (!this.gzip.write(full)) await Promise.race([once(this.gzip, 'drain'), this.done]);
    if (this.failed) throw this.failed;
  }

  /** A small entry whose bytes are all at hand. */
  async addBuffer(name: string, data: Uint8Array, mode = 0o644): Promise<void> {
    await this.addStream(name, data.length, (write) => write(data), mode);
  }

  /** A streamed entry: `fill` writes exactly `size` bytes through `write`. */
  async addStream(
    name: string,
    size: number,
    fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
    mode = 0o644,
  ): Promise<void> {
    await this.put(entryHeader(name, size, mode, this.mtimeSec));
    let written = 0;
    await fill(async (chunk) => {
      written += chunk.length;
      if (written > size) throw new Error(`tar entry ${name}: more than the ${size} bytes announced`);
      await this.put(chunk);
    });
    if (written !== size) throw new Error(`tar entry ${name}: ${written} bytes written, ${size} announced`);
    await this.put(Buffer.alloc(padOf(size)));
  }

  async finish(): Promise<void> {
    await this.put(Buffer.alloc(END_OF_ARCHIVE));
    await this.flush();
    this.gzip?.end();
    await this.done;
    if (this.failed) throw this.failed;
  }

  /** Stop after a failure; the descriptor stays open for its owner to close. */
  destroy(err: Error): void {
    this.failed ??= err;
    this.gzip?.destroy(err);
  }
}

