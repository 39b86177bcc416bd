/**
 * Build tar archives byte by byte, including deliberately broken ones, for the hostile
 * archive tests. Nothing here reuses the product's tar code: the tests must not share
 * a misunderstanding with the code they check.
 */
const BLOCK = 512;

export interface HeaderSpec {
  /** Name field (bytes 0-99); a Buffer is written raw. */
  name: string | Buffer;
  /** Value written to the size field (octal) unless `sizeField` is given. */
  size?: number;
  /** Raw 12 bytes for the size field, e.g. a base-256 encoding. */
  sizeField?: Buffer;
  /** Typeflag character; '0' by default. */
  type?: string;
  linkname?: string;
  /** ustar prefix field (bytes 345-499), POSIX format only. */
  prefix?: string | Buffer;
  /** 'ustar' is POSIX ("ustar\0" "00"), 'gnu' is GNU ("ustar " " \0"), 'v7' has no magic. */
  format?: 'ustar' | 'gnu' | 'v7';
  mode?: number;
  mtime?: number;
  /** 'good' (default), 'bad' (off by one), or a raw 8-byte field. */
  checksum?: 'good' | 'bad' | Buffer;
  /** Bytes to poke into the block after everything else, before the checksum. */
  poke?: ReadonlyArray<[offset: number, bytes: Buffer]>;
}

function putString(b: Buffer, at: number, len: number, v: string | Buffer): void {
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  if (bytes.length > len) throw new Error(`field at ${at} holds ${len} bytes, got ${bytes.length}`);
  bytes.copy(b, at);
}

function putOctal(b: Buffer, at: number, len: number, v: number): void {
  // len-1 octal digits, zero-padded, then NUL: the form GNU tar and tar-stream write.
  const s = v.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`${v} does not fit an octal field of ${len} bytes`);
  putString(b, at, len, `${s}\0`);
}

/** The header checksum: the byte sum with the checksum field counted as spaces. */
export function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let k = 0; k < BLOCK; k++) sum += k >= 148 && k < 156 ? 0x20 : block[k]!;
  return sum;
}

/** Recompute a header's checksum in place (after poking bytes into it). */
export function fixChecksum(block: Buffer, at = 0): Buffer {
  const h = block.subarray(at, at + BLOCK);
  const s = checksumOf(h).toString(8).padStart(6, '0');
  h.write(`${s}\0 `, 148, 'latin1');
  return block;
}

export function header(spec: HeaderSpec): Buffer {
  const b = Buffer.alloc(BLOCK);
  putString(b, 0, 100, spec.name);
  putOctal(b, 100, 8, spec.mode ?? 0o644);
  putOctal(b, 108, 8, 0);
  putOctal(b, 116, 8, 0);
  if (spec.sizeField) {
    if (spec.sizeField.length !== 12) throw new Error('size field is 12 bytes');
    spec.sizeField.copy(b, 124);
  } else putOctal(b, 124, 12, spec.size ?? 0);
  putOctal(b, 136, 12, spec.mtime ?? 1_793_491_200);
  b.write(spec.type ?? '0', 156, 'latin1');
  if (spec.linkname) putString(b, 157, 100, spec.linkname);
  const format = spec.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\u000000', 257, 'latin1');
  else if (format === 'gnu') b.write('ustar  \u0000', 257, 'latin1');
  if (spec.prefix !== undefined) {
    if (format !== 'ustar') throw new Error('only POSIX ustar headers have a prefix field');
    putString(b, 345, 155, spec.prefix);
  }
  for (const [at, bytes] of spec.poke ?? []) bytes.copy(b, at);
  const ck = spec.checksum ?? 'good';
  if (Buffer.isBuffer(ck)) ck.copy(b, 148);
  else {
    fixChecksum(b);
    if (ck === 'bad') {
      const v = checksumOf(b) + 1;
      b.write(`${v.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    }
  }
  return b;
}

export const padTo512 = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** Content followed by zero padding to the next block. */
export function body(content: Buffer | string): Buffer {
  const c = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return Buffer.concat([c, padTo512(c.length)]);
}

/** A regular file: header, content, padding. Header fields can be overridden. */
export function file(name: string | Buffer, content: Buffer | string = '', spec: Partial<HeaderSpec> = {}): Buffer {
  const c = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return Buffer.concat([header({ name, size: c.length, ...spec }), body(c)]);
}

/** An entry of another type with no content (symlink, directory, device, FIFO...). */
export function special(name: string, type: string, spec: Partial<HeaderSpec> = {}): Buffer {
  return header({ name, type, size: 0, ...spec });
}

/** One pax record, "LEN key=value\n", where LEN counts the whole record including itself. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const kv = Buffer.concat([Buffer.from(`${key}=`, 'utf8'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value, Buffer.from('\n')]);
  let len = kv.length + 2;
  while (String(len).length + 1 + kv.length !== len) len = String(len).length + 1 + kv.length;
  return Buffer.concat([Buffer.from(`${len} `), kv]);
}

/** A pax extended header ('x', or 'g' for global) carrying the given raw record bytes. */
export function paxHeader(records: Buffer | ReadonlyArray<[string, string | Buffer]>, spec: Partial<HeaderSpec> = {}): Buffer {
  const data = Buffer.isBuffer(records) ? records : Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([header({ name: 'PaxHeaders/x', type: 'x', size: data.length, ...spec }), body(data)]);
}

/** A GNU long name record ('L'): the name, NUL-terminated, as GNU tar writes it. */
export function gnuLongName(name: string | Buffer, type = 'L'): Buffer {
  const data = Buffer.concat([typeof name === 'string' ? Buffer.from(name, 'utf8') : name, Buffer.from([0])]);
  return Buffer.concat([header({ name: '././@LongLink', type, size: data.length, format: 'gnu' }), body(data)]);
}

/** Base-256 encoding of a size, as GNU tar writes values too large for octal. */
export function base256(v: number, len = 12): Buffer {
  const b = Buffer.alloc(len);
  let x = BigInt(v);
  for (let k = len - 1; k > 0; k--) {
    b[k] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[0] = 0x80;
  return b;
}

export const endMarker = (): Buffer => Buffer.alloc(2 * BLOCK);

/** A whole archive: the parts, then the two zero blocks. */
export const archive = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, endMarker()]);

export interface SimpleEntry {
  name: string;
  content: Buffer;
}

/**
 * A deliberately simple reader, independent of src/bundle/tar-reader.ts, for the fuzz
 * tests' notion of "the same content": it understands regular files, pax path/size and
 * GNU long names, stops at the first zero block and ignores everything it does not need
 * (checksums included). Returns null when it cannot make sense of the bytes.
 */
export function simpleEntries(tar: Buffer): SimpleEntry[] | null {
  const out: SimpleEntry[] = [];
  let at = 0;
  let paxPath: string | null = null;
  let paxSize: number | null = null;
  let longName: string | null = null;
  const cstr = (b: Buffer): Buffer => {
    const z = b.indexOf(0);
    return z < 0 ? b : b.subarray(0, z);
  };
  while (at + BLOCK <= tar.length) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((x) => x === 0)) return out;
    const sizeText = cstr(h.subarray(124, 136)).toString('latin1').trim();
    const size = h[124]! & 0x80 ? Number(h.subarray(125, 136).reduce((v, x) => v * 256n + BigInt(x), 0n)) : parseInt(sizeText || '0', 8);
    if (!Number.isFinite(size)) return null;
    const type = String.fromCharCode(h[156]!);
    const dataAt = at + BLOCK;
    const effective = type === '0' || type === '\0' ? (paxSize ?? size) : size;
    if (dataAt + effective > tar.length) return null;
    const data = tar.subarray(dataAt, dataAt + effective);
    at = dataAt + Math.ceil(effective / BLOCK) * BLOCK;
    if (type === 'x') {
      for (let p = 0; p < data.length; ) {
        const sp = data.indexOf(0x20, p);
        const len = parseInt(data.subarray(p, sp).toString('latin1'), 10);
        if (sp < 0 || !(len > 0)) return null;
        const rec = data.subarray(sp + 1, p + len - 1).toString('utf8');
        const eq = rec.indexOf('=');
        if (rec.slice(0, eq) === 'path') paxPath = rec.slice(eq + 1);
        if (rec.slice(0, eq) === 'size') paxSize = Number(rec.slice(eq + 1));
        p += len;
      }
    } else if (type === 'L') {
      longName = cstr(data).toString('utf8');
    } else {
      const isUstar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
      const prefix = isUstar ? cstr(h.subarray(345, 500)).toString('utf8') : '';
      const base = cstr(h.subarray(0, 100)).toString('utf8');
      const name = paxPath ?? longName ?? (prefix ? `${prefix}/${base}` : base);
      out.push({ name: name.startsWith('./') ? name.slice(2) : name, content: Buffer.from(data) });
      paxPath = paxSize = longName = null;
    }
  }
  return null;
}
