/**
 * A strict, streaming tar reader for archives we do not trust yet.
 *
 * It accounts for every byte: headers must carry a valid checksum, only regular files
 * (plus the pax and GNU long-name records that describe them) are accepted, the archive
 * must end with the two zero blocks, and whatever follows them must be zero padding.
 * Entry content is handed to the caller chunk by chunk and never buffered here, so
 * memory stays flat whatever the archive size.
 *
 * Where tar readers are known to disagree (two long-name records for one entry, repeated
 * pax keys, a pax size that contradicts the header), we refuse rather than pick a winner:
 * the files we verify must be the files any other tool would extract.
 */
export class TarFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export interface TarEntryHeader {
  name: string;
  size: number;
  /** Offset of the entry's first header block in the (uncompressed) archive. */
  offset: number;
}

export interface EntrySink {
  update(chunk: Buffer): void;
  end(): void;
  /**
   * The caller reads this entry's data itself (elsewhere, from the file): write() stops
   * where the data begins and skipData() passes over it; update() is never called.
   */
  readonly external?: boolean;
}

export interface TarReaderLimits {
  /** pax extended header or GNU long name record. */
  maxMetaRecord: number;
  maxEntries: number;
}

export const DEFAULT_TAR_LIMITS: TarReaderLimits = { maxMetaRecord: 64 * 1024, maxEntries: 1_000_000 };

const BLOCK = 512;
/** The largest size an 11-digit octal field holds (8 GiB - 1). */
const OCTAL_SIZE_MAX = 0o77777777777;
/**
 * Zeros allowed after the end-of-archive marker. tar pads the archive to its record size
 * (10 KiB by default, 1 MiB for the largest blocking factors); an endless run of zeros
 * would only make a small compressed file take a long time to read.
 */
const MAX_TRAILER = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type State = 'header' | 'data' | 'pad' | 'meta' | 'eof2' | 'trailer';

export class TarReader {
  private state: State = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private offset = 0; // bytes consumed so far
  private remaining = 0; // data bytes left in the current entry
  private pad = 0;
  private sink: EntrySink | null = null;
  private metaKind: 'pax' | 'longname' = 'pax';
  private meta: Buffer[] = [];
  private metaSize = 0;
  private paxPath: string | null = null;
  private paxSize: number | null = null;
  private longName: string | null = null;
  private paxSeen = false;
  private pendingMeta = false;
  private entries = 0;
  private entryOffset = 0;
  private endOffset = 0; // where the end-of-archive marker ends

  constructor(
    private readonly onEntry: (h: TarEntryHeader) => EntrySink,
    private readonly limits: TarReaderLimits = DEFAULT_TAR_LIMITS,
  ) {}

  private fail(msg: string, at = this.offset): never {
    throw new TarFormatError(msg, at);
  }

  /**
   * Bytes of `chunk` consumed: all of them, unless the data of an entry with an external
   * sink begins inside it (see skipPending).
   */
  write(chunk: Buffer): number {
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'data' && this.sink!.external) return off;
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - off);
          this.sink!.update(chunk.subarray(off, off + n));
          off += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finishData();
          break;
        }
        case 'meta': {
          const n = Math.min(this.remaining, chunk.length - off);
          this.meta.push(Buffer.from(chunk.subarray(off, off + n)));
          off += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finishMeta();
          break;
        }
        case 'pad': {
          const n = Math.min(this.pad, chunk.length - off);
          for (let k = off; k < off + n; k++) if (chunk[k] !== 0) this.fail('non-zero padding after an entry', this.offset + k - off);
          off += n;
          this.offset += n;
          this.pad -= n;
          if (this.pad === 0) this.state = 'header';
          break;
        }
        case 'trailer': {
          for (let k = off; k < chunk.length; k++) {
            if (chunk[k] !== 0) this.fail('data after the end-of-archive marker', this.offset + k - off);
          }
          this.offset += chunk.length - off;
          off = chunk.length;
          if (this.offset - this.endOffset > MAX_TRAILER) {
            this.fail(`more than ${MAX_TRAILER} bytes of padding after the end-of-archive marker`, this.endOffset);
          }
          break;
        }
        default: {
          // header or eof2: a whole block of the chunk is read in place; one split between
          // chunks is assembled first.
          if (this.blockFill === 0 && chunk.length - off >= BLOCK) {
            off += BLOCK;
            this.offset += BLOCK;
            this.onBlock(chunk, off - BLOCK);
            break;
          }
          const n = Math.min(BLOCK - this.blockFill, chunk.length - off);
          this.block.set(chunk.subarray(off, off + n), this.blockFill);
          this.blockFill += n;
          off += n;
          this.offset += n;
          if (this.blockFill === BLOCK) {
            this.blockFill = 0;
            this.onBlock(this.block, 0);
          }
        }
      }
    }
    return off;
  }

  /** Offset in the archive of the next byte to write: where an entry's data starts, in onEntry. */
  get position(): number {
    return this.offset;
  }

  /** The reader waits at the data of an entry with an external sink: skipData() first. */
  get skipPending(): boolean {
    return this.state === 'data' && this.sink!.external === true;
  }

  /** Pass over the data of the entry with an external sink; returns its length. */
  skipData(): number {
    if (!this.skipPending) throw new Error('internal: no entry data to skip');
    const n = this.remaining;
    this.offset += n;
    this.remaining = 0;
    this.finishData();
    return n;
  }

  /**
   * Feed the chunk that starts at the reader's position, passing over the data of every
   * entry whose sink reads it itself. Returns how far the reader moved: past the chunk's
   * end when a skipped entry's data runs beyond it, so the caller reads on from there.
   */
  feed(chunk: Buffer): number {
    let off = this.write(chunk);
    while (this.skipPending) {
      off += this.skipData();
      if (off >= chunk.length) break;
      off += this.write(chunk.subarray(off));
    }
    return off;
  }

  /** Call at end of input: anything but a complete archive is an error. */
  end(): void {
    const truncated = (where: string): never => this.fail(`unexpected end of archive ${where} (the archive is truncated)`);
    switch (this.state) {
      case 'trailer':
        return;
      case 'eof2':
        return this.fail('incomplete end-of-archive marker (the archive may be truncated)');
      case 'header':
        if (this.offset === 0) this.fail('empty input: not a tar archive');
        if (this.blockFill > 0) truncated('inside a header');
        if (this.pendingMeta) this.fail('extended header not followed by an entry (the archive may be truncated)');
        return this.fail('missing end-of-archive marker (the archive may be truncated)');
      case 'meta':
        return truncated('inside an extended header');
      case 'data':
        return truncated('inside an entry');
      case 'pad':
        return truncated('inside the padding of an entry');
    }
  }

  /** The header block at `at` of `b`. */
  private onBlock(b: Buffer, at: number): void {
    const start = this.offset - BLOCK;
    if (isZero(b, at, at + BLOCK)) {
      if (this.state === 'eof2') {
        this.state = 'trailer';
        this.endOffset = this.offset;
        return;
      }
      if (this.pendingMeta) this.fail('extended header not followed by an entry', start);
      this.state = 'eof2';
      return;
    }
    if (this.state === 'eof2') this.fail('a header after a zero block (damaged archive or hidden content)', start);

    if (!checksumOk(b, at)) this.fail('bad header checksum (corrupt header or not a tar archive)', start);
    // magic "ustar" then "\0" "00" (POSIX) or " " " \0" (GNU)
    const ustar = b[at + 257] === 0x75 && b[at + 258] === 0x73 && b[at + 259] === 0x74 && b[at + 260] === 0x61 && b[at + 261] === 0x72;
    const posix = ustar && b[at + 262] === 0 && b[at + 263] === 0x30 && b[at + 264] === 0x30;
    const gnu = ustar && b[at + 262] === 0x20 && b[at + 263] === 0x20 && b[at + 264] === 0;
    if (!posix && !gnu) this.fail('not a POSIX or GNU tar header', start);

    const type = b[at + 156];
    const size = parseNumeric(b, at + 124, 12);
    if (size === null) this.fail('invalid size field in header', start);

    if (type === 0x78 /* x */ || type === 0x4c /* L */) {
      if (size! > this.limits.maxMetaRecord) {
        this.fail(`${type === 0x78 ? 'pax header' : 'long name record'} of ${size} bytes exceeds the limit of ${this.limits.maxMetaRecord}`, start);
      }
      // Readers disagree on which of two such records wins (and on whether a pax size
      // applies to a long-name record that follows), so one entry gets at most one.
      if (type === 0x78 ? this.paxSeen : this.longName !== null) {
        this.fail(`two ${type === 0x78 ? 'pax headers' : 'GNU long name records'} for one entry`, start);
      }
      if (this.paxSeen || this.longName !== null) this.fail('a pax header and a GNU long name for one entry', start);
      if (!this.pendingMeta) this.entryOffset = start;
      this.pendingMeta = true;
      this.metaKind = type === 0x78 ? 'pax' : 'longname';
      this.meta = [];
      this.metaSize = size!;
      this.remaining = size!;
      this.pad = padOf(size!);
      this.state = 'meta';
      if (size === 0) this.finishMeta();
      return;
    }
    if (type !== 0x30 && type !== 0) this.fail(`${describeType(type!)} entries are not allowed (only regular files)`, start);

    let name: string;
    if (this.paxPath !== null) name = this.paxPath;
    else if (this.longName !== null) name = this.longName;
    else {
      const base = field(b, at, 100, start);
      const prefix = posix ? field(b, at + 345, 155, start) : '';
      name = prefix ? `${prefix}/${base}` : base;
    }
    if (this.paxSize !== null && size !== this.paxSize && size !== 0 && size !== OCTAL_SIZE_MAX) {
      // Writers put the real size in pax only when the header cannot hold it, and then
      // leave 0 or the largest octal value there; anything else is a contradiction.
      this.fail(`pax size ${this.paxSize} contradicts the header size ${size}`, start);
    }
    const entrySize = this.paxSize ?? size!;
    const offset = this.pendingMeta ? this.entryOffset : start;
    this.paxPath = this.paxSize = this.longName = null;
    this.paxSeen = false;
    this.pendingMeta = false;

    if (++this.entries > this.limits.maxEntries) this.fail(`more than ${this.limits.maxEntries} entries`, start);
    this.sink = this.onEntry({ name, size: entrySize, offset });
    this.remaining = entrySize;
    this.pad = padOf(entrySize);
    this.state = 'data';
    if (entrySize === 0) this.finishData();
  }

  private finishData(): void {
    this.sink!.end();
    this.sink = null;
    this.state = this.pad ? 'pad' : 'header';
  }

  private finishMeta(): void {
    const data = Buffer.concat(this.meta, this.metaSize);
    this.meta = [];
    if (this.metaKind === 'longname') {
      const nul = data.indexOf(0);
      const name = nul >= 0 ? data.subarray(0, nul) : data;
      if (nul >= 0 && !isZero(data.subarray(nul))) this.fail('data after the end of a GNU long name', this.entryOffset);
      if (name.length === 0) this.fail('empty GNU long name', this.entryOffset);
      this.longName = decodeName(name, this.entryOffset);
    } else {
      this.paxSeen = true;
      this.parsePax(data);
    }
    this.state = this.pad ? 'pad' : 'header';
  }

  private parsePax(data: Buffer): void {
    const at = this.entryOffset;
    const seen = new Set<string>();
    let p = 0;
    while (p < data.length) {
      const sp = data.indexOf(0x20, p);
      if (sp < 0 || sp - p > 20) this.fail('malformed pax record (no length)', at);
      const lenText = data.subarray(p, sp).toString('latin1');
      if (!/^[1-9][0-9]*$/.test(lenText)) this.fail('malformed pax record length', at);
      const len = Number(lenText);
      if (len <= sp - p + 1 || p + len > data.length || data[p + len - 1] !== 0x0a) {
        this.fail(`pax record length ${lenText} does not match its content`, at);
      }
      const rec = data.subarray(sp + 1, p + len - 1);
      const eq = rec.indexOf(0x3d);
      if (eq <= 0) this.fail('malformed pax record (no key)', at);
      const key = rec.subarray(0, eq).toString('latin1');
      const value = rec.subarray(eq + 1);
      if (key === 'path' || key === 'size') {
        if (seen.has(key)) this.fail(`pax record ${key} given twice`, at);
        seen.add(key);
      }
      if (key === 'path') this.paxPath = decodeName(value, at);
      else if (key === 'size') {
        const s = value.toString('latin1');
        if (!/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) this.fail('invalid pax size', at);
        this.paxSize = Number(s);
      } else if (key === 'linkpath' || key.startsWith('GNU.sparse')) {
        this.fail(`pax record ${key} is not allowed (only regular files)`, at);
      }
      // Other records (times, owners, charset) carry nothing we rely on.
      p += len;
    }
  }
}

function isZero(b: Buffer, from = 0, to = b.length): boolean {
  for (let k = from; k < to; k++) if (b[k] !== 0) return false;
  return true;
}

function padOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The byte sum of the block at `at`, its checksum field counted as spaces. */
function checksumOk(b: Buffer, at: number): boolean {
  const stored = parseNumeric(b, at + 148, 8);
  if (stored === null) return false;
  let sum = 8 * 0x20;
  for (let k = at; k < at + 148; k++) sum += b[k]!;
  for (let k = at + 156; k < at + BLOCK; k++) sum += b[k]!;
  return sum === stored;
}

/**
 * The numeric field of `len` bytes at `from`: octal digits, after leading spaces, before
 * trailing NULs and spaces; or GNU base-256 for large values.
 */
function parseNumeric(b: Buffer, from: number, len: number): number | null {
  const end = from + len;
  if (b[from]! & 0x80) {
    if (b[from] !== 0x80) return null; // negative or absurd
    let v = 0;
    for (let k = from + 1; k < end; k++) v = v * 256 + b[k]!;
    return Number.isSafeInteger(v) ? v : null;
  }
  let last = end;
  while (last > from && (b[last - 1] === 0 || b[last - 1] === 0x20)) last--;
  let k = from;
  while (k < last && b[k] === 0x20) k++;
  let v = 0;
  for (; k < last; k++) {
    const c = b[k]!;
    if (c < 0x30 || c > 0x37) return null;
    v = v * 8 + (c - 0x30);
  }
  return Number.isSafeInteger(v) ? v : null;
}

/** A NUL-terminated (or full-length) name field. */
function field(b: Buffer, from: number, len: number, start: number): string {
  let end = from;
  let ascii = true;
  for (const stop = from + len; end < stop && b[end] !== 0; end++) if (b[end]! >= 0x80) ascii = false;
  // Plain ASCII, nearly every name: its UTF-8 reading is its Latin-1 one, without a decoder.
  return ascii ? b.toString('latin1', from, end) : decodeName(b.subarray(from, end), start);
}

function decodeName(bytes: Uint8Array, start: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TarFormatError('entry name is not valid UTF-8', start);
  }
}

function describeType(t: number): string {
  switch (t) {
    case 0x31: return 'hard link';
    case 0x32: return 'symbolic link';
    case 0x33: return 'character device';
    case 0x34: return 'block device';
    case 0x35: return 'directory';
    case 0x36: return 'FIFO';
    case 0x37: return 'contiguous file';
    case 0x67: return 'global pax header';
    case 0x4b: return 'GNU long link';
    case 0x53: return 'GNU sparse file';
    default: return `type ${JSON.stringify(String.fromCharCode(t))}`;
  }
}
