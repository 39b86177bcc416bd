/**
 * The distinct contents of an export's items, in blob order: each digest once, sorted
 * (lowercase hex: as by UTF-8 bytes), with the index of the first item that has it, which
 * supplies the blob. A map from digest to item and a sort of the 64-digit strings took
 * 110 ms for 100,000 items here, while the pool's threads waited; numbers sort natively.
 * Each digest's leading bits and its index are packed into one exact double, sorted as
 * such, and only digests whose leading bits tie are compared whole.
 *
 * Digests must be 64 lowercase hex digits, as hashing gives them. Those digits packed
 * here are checked here (any other character would make a key that is not exact, and an
 * item could be lost); the checksum list checks the rest, and sees every distinct digest,
 * before anything is signed or the bundle gets its name.
 */
export function distinctSorted(count: number, digestOf: (k: number) => string): { blobs: string[]; first: Int32Array } {
  const keys = new DistinctKeys(count);
  for (let k = 0; k < count; k++) keys.set(k, digestOf(k));
  return keys.sorted();
}

/**
 * distinctSorted in two steps: each item's key as its digest becomes known (an export
 * packs them while its hashing pass goes on, as each batch comes back), then the sort.
 * Every item from 0 to count - 1 must be set once.
 */
export class DistinctKeys {
  private readonly keys: Float64Array;
  private readonly digests: string[];
  private unset: number;
  private readonly digits: number;
  private readonly drop: number;
  private readonly scale: number;

  constructor(private readonly count: number) {
    const indexBits = Math.max(1, Math.ceil(Math.log2(count + 1)));
    // As many of the digest's leading bits as fit beside the index in a double's 53.
    const prefixBits = 53 - indexBits;
    if (prefixBits < 1) throw new Error(`too many items to sort: ${count}`);
    this.digits = Math.ceil(prefixBits / 4);
    this.drop = 2 ** (4 * this.digits - prefixBits);
    this.scale = 2 ** indexBits;
    this.keys = new Float64Array(count);
    this.digests = new Array<string>(count);
    this.unset = count;
  }

  /** Item k's digest. */
  set(k: number, hex: string): void {
    if (!(Number.isInteger(k) && k >= 0 && k < this.count) || this.digests[k] !== undefined) throw new Error(`item ${k} of ${this.count} given twice or out of range`);
    if (hex.length !== 64) throw new Error(`blob ${JSON.stringify(hex)} is not a SHA-256 digest`);
    let v = 0;
    // Hex digit by hand: parseInt of a slice costs twice as much.
    for (let c = 0; c < this.digits; c++) {
      const x = hex.charCodeAt(c);
      if (x >= 48 && x <= 57) v = v * 16 + x - 48;
      else if (x >= 97 && x <= 102) v = v * 16 + x - 87;
      else throw new Error(`blob ${JSON.stringify(hex)} is not a SHA-256 digest`);
    }
    this.keys[k] = Math.floor(v / this.drop) * this.scale + k;
    this.digests[k] = hex;
    this.unset--;
  }

  /** Each digest once, sorted, and the first item with it. */
  sorted(): { blobs: string[]; first: Int32Array } {
    if (this.unset !== 0) throw new Error(`${this.unset} of ${this.count} items have no digest yet`);
    const { keys, count, scale, digests } = this;
    const digestOf = (k: number): string => digests[k]!;
    keys.sort();

    // Filled in place and cut to length: growing two arrays of 100,000 and a remainder per
    // key took two thirds of this loop's 30 ms.
    const blobs: string[] = new Array<string>(count);
    const first = new Int32Array(count);
    let n = 0;
    const take = (k: number, hex: string): void => {
      blobs[n] = hex;
      first[n++] = k;
    };
    for (let i = 0; i < count; ) {
      // The keys of one prefix lie in [lo, lo + scale); a key less lo is its item's index.
      const lo = Math.floor(keys[i]! / scale) * scale;
      const hi = lo + scale;
      let j = i + 1;
      while (j < count && keys[j]! < hi) j++;
      if (j === i + 1) {
        // Alone with its leading bits: a digest no other item has.
        const k = keys[i]! - lo;
        take(k, digestOf(k));
      } else {
        // A tie (the same content, or leading bits in common): by whole digest, then index,
        // so that of equal digests the first item comes first and supplies the blob.
        const tied: number[] = [];
        for (let t = i; t < j; t++) tied.push(keys[t]! - lo);
        tied.sort((a, b) => {
          const x = digestOf(a);
          const y = digestOf(b);
          return x < y ? -1 : x > y ? 1 : a - b;
        });
        let last: string | null = null;
        for (const k of tied) {
          const hex = digestOf(k);
          if (hex !== last) take(k, hex);
          last = hex;
        }
      }
      i = j;
    }
    blobs.length = n;
    return { blobs, first: first.slice(0, n) };
  }
}
