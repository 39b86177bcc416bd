import { describe, expect, it } from 'vitest';
import { paced, PacedStop } from '../../src/util/paced.js';

describe('paced', () => {
  it('hands every item over once, in order, in slices', async () => {
    const items = Array.from({ length: 1000 }, (_, k) => k);
    const got: number[] = [];
    let slices = 0;
    await paced(items, (slice) => {
      slices++;
      for (const x of slice) got.push(x);
    }, 0);
    expect(got).toEqual(items);
    // A slice of 0 ms ends after its first item: one slice each, and one that finds the end.
    expect(slices).toBe(items.length + 1);
  });

  it('lets the event loop run between slices, and not within one', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const seen: number[] = [];
    try {
      await paced(Array.from({ length: 40 }, (_, k) => k), (slice) => {
        const before = ticks;
        for (const _ of slice) {
          const until = Date.now() + 2;
          while (Date.now() < until);
        }
        // Nothing else ran within the slice.
        expect(ticks).toBe(before);
        seen.push(ticks);
      }, 5);
    } finally {
      clearInterval(timer);
    }
    // About 80 ms of work in 5 ms slices: the timer ran between them.
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.at(-1)!).toBeGreaterThan(seen[0]!);
  });

  it('stops between slices once told to, and not before the first', async () => {
    const got: number[] = [];
    let asked = 0;
    const run = paced([1, 2, 3, 4], (slice) => {
      for (const x of slice) got.push(x);
    }, 0, () => ++asked >= 2);
    await expect(run).rejects.toBeInstanceOf(PacedStop);
    // Slices of one item: the first, then one more, then told to stop.
    expect(got).toEqual([1, 2]);
    expect(asked).toBe(2);
  });

  it('an empty input gives one empty slice; a failure in take ends it', async () => {
    const lengths: number[] = [];
    await paced([], (slice) => lengths.push([...slice].length));
    expect(lengths).toEqual([0]);
    await expect(paced([1, 2, 3], () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
  });
});
