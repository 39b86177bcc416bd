import { TarFormatError } from './tar-reader.js';

/**
 * Copies a tar archive byte for byte while replacing the content of one entry. Every
 * other entry keeps its header, pax or GNU long-name records, content and padding, and
 * the end-of-archive trailer is kept as it was: an archive packed by another tar keeps
 * that tar's header fields. The replaced entry keeps its own header fields too; only its
 * size and checksum change.
 *
 * This is framing, not validation: callers verify the archive before and the result
 * after (the strict reader is tar-reader.ts).
 */
const BLOCK = 512;

type State = 'header' | 'meta' | 'copy' | 'skip' | 'trailer';

export class TarEntryReplacer {
  private state: State = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private fill = 0;
  /** Raw pax / long-name records waiting for the header of the entry they describe. */
  private held: Buffer[] = [];
  private metaType = 0;
  private metaSize = 0;
  private metaParts: Buffer[] = [];
  private remaining = 0;
  private paxPath: string | null = null;
  private paxSize = false;
  private longName: string | null = null;
  private replacedCount = 0;

  constructor(
    private readonly target: string,
    private readonly replacement: Buffer,
  ) {}

  get replaced(): number {
    return this.replacedCount;
  }

  /** Feed input; returns the output bytes it produces. */
  write(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'trailer') {
        const rest = chunk.subarray(off);
        if (!rest.every((b) => b === 0)) throw new TarFormatError('data after the end-of-archive marker', 0);
        out.push(Buffer.from(rest));
        break;
      }
      if (this.state === 'copy' || this.state === 'skip' || this.state === 'meta') {
        const n = Math.min(this.remaining, chunk.length - off);
        const part = Buffer.from(chunk.subarray(off, off + n));
        if (this.state === 'copy') out.push(part);
        else if (this.state === 'meta') this.metaParts.push(part);
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          if (this.state === 'meta') this.finishMeta();
          this.state = 'header';
        }
        continue;
      }
      const n = Math.min(BLOCK - this.fill, chunk.length - off);
      chunk.copy(this.block, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === BLOCK) {
        this.fill = 0;
        this.onHeader(Buffer.from(this.block), out);
      }
    }
    return out;
  }

  end(): void {
    if (this.state !== 'trailer' || this.fill !== 0) throw new TarFormatError('the archive ended early', 0);
  }

  private onHeader(b: Buffer, out: Buffer[]): void {
    if (b.every((x) => x === 0)) {
      if (this.held.length) throw new TarFormatError('extended header not followed by an entry', 0);
      out.push(b);
      this.state = 'trailer';
      return;
    }
    const type = b[156]!;
    const size = readSize(b);
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 0x78 /* x */ || type === 0x4c /* L */) {
      this.held.push(b);
      this.metaType = type;
      this.metaSize = size;
      this.metaParts = [];
      this.remaining = padded;
      this.state = padded ? 'meta' : 'header';
      if (!padded) this.finishMeta();
      return;
    }
    if (type !== 0x30 && type !== 0) throw new TarFormatError(`entry type ${JSON.stringify(String.fromCharCode(type))} is not a regular file`, 0);
    const raw = this.paxPath ?? this.longName ?? ustarName(b);
    const name = raw.startsWith('./') ? raw.slice(2) : raw;
    const isTarget = name === this.target;
    if (isTarget && this.paxSize) {
      throw new TarFormatError(`${name} carries its size in a pax record; re-pack the bundle without it`, 0);
    }
    for (const h of this.held) out.push(h);
    this.held = [];
    this.paxPath = this.longName = null;
    this.paxSize = false;
    if (!isTarget) {
      out.push(b);
      this.remaining = padded;
      this.state = padded ? 'copy' : 'header';
      return;
    }
    this.replacedCount++;
    const r = this.replacement;
    out.push(withSize(b, r.length), r, Buffer.alloc((BLOCK - (r.length % BLOCK)) % BLOCK));
    this.remaining = padded;
    this.state = padded ? 'skip' : 'header';
  }

  private finishMeta(): void {
    const data = Buffer.concat(this.metaParts).subarray(0, this.metaSize);
    this.held.push(...this.metaParts);
    this.metaParts = [];
    if (this.metaType === 0x4c) {
      const nul = data.indexOf(0);
      this.longName = (nul >= 0 ? data.subarray(0, nul) : data).toString('utf8');
      return;
    }
    let p = 0;
    while (p < data.length) {
      const sp = data.indexOf(0x20, p);
      const len = Number(data.subarray(p, sp).toString('latin1'));
      if (sp < 0 || !Number.isSafeInteger(len) || len <= 0 || p + len > data.length) throw new TarFormatError('malformed pax record', 0);
      const rec = data.subarray(sp + 1, p + len - 1);
      const eq = rec.indexOf(0x3d);
      const key = rec.subarray(0, eq).toString('latin1');
      if (key === 'path') this.paxPath = rec.subarray(eq + 1).toString('utf8');
      if (key === 'size') this.paxSize = true;
      p += len;
    }
  }
}

function ustarName(b: Buffer): string {
  const str = (at: number, len: number) => {
    const f = b.subarray(at, at + len);
    const nul = f.indexOf(0);
    return (nul >= 0 ? f.subarray(0, nul) : f).toString('utf8');
  };
  const base = str(0, 100);
  const posix = b.subarray(257, 263).toString('latin1') === 'ustar\0';
  const prefix = posix ? str(345, 155) : '';
  return prefix ? `${prefix}/${base}` : base;
}

function readSize(b: Buffer): number {
  const f = b.subarray(124, 136);
  if (f[0]! & 0x80) {
    let v = 0;
    for (let k = 1; k < f.length; k++) v = v * 256 + f[k]!;
    if (f[0] !== 0x80 || !Number.isSafeInteger(v)) throw new TarFormatError('invalid size field', 0);
    return v;
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]*$/.test(s)) throw new TarFormatError('invalid size field', 0);
  return s === '' ? 0 : parseInt(s, 8);
}

/**
 * The same header with another size. The size and checksum fields keep the original's
 * layout (digit count and terminators), so a header our writer made comes out exactly as
 * our writer would have made it for the new size.
 */
export function withSize(header: Buffer, size: number): Buffer {
  const h = Buffer.from(header);
  writeOctalLike(h, 124, 12, size);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let k = 0; k < BLOCK; k++) sum += h[k]!;
  writeOctalLike(header, 148, 8, sum, h);
  return h;
}

/** Write `value` in octal into field [at, at+len) of `dst`, shaped like the field in `like`. */
function writeOctalLike(like: Buffer, at: number, len: number, value: number, dst: Buffer = like): void {
  const f = like.subarray(at, at + len);
  let lead = 0;
  while (lead < len && f[lead] === 0x20) lead++;
  let digits = 0;
  while (lead + digits < len && f[lead + digits]! >= 0x30 && f[lead + digits]! <= 0x37) digits++;
  const tail = Buffer.from(f.subarray(lead + digits));
  let text = value.toString(8);
  if (f[0]! & 0x80 || digits === 0 || text.length > digits) {
    // Base-256 or an odd layout: fall back to the POSIX form, digits then NUL.
    if (text.length > len - 1) throw new TarFormatError(`value ${value} does not fit a tar header field`, 0);
    dst.write(text.padStart(len - 1, '0') + '\0', at, 'latin1');
    return;
  }
  text = text.padStart(digits, '0');
  dst.fill(0x20, at, at + lead);
  dst.write(text, at + lead, 'latin1');
  tail.copy(dst, at + lead + digits);
}
