/**
 * Whether the hashing pass takes a small file as settled: fstat comes after the read, so
 * the ctime it gives covers the read itself. The mocked fstat and read log their order,
 * and fstat's word can be changed as if the file had just been written.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

type Stats = import('node:fs').Stats;
const seen: { log: string[]; edit: ((st: Stats) => void) | null } = { log: [], edit: null };
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const fstatSync = ((fd: number, opts?: unknown) => {
    const st = (fs.fstatSync as (fd: number, o?: unknown) => Stats)(fd, opts);
    seen.log.push('fstat');
    seen.edit?.(st);
    return st;
  }) as typeof fs.fstatSync;
  const readSync = ((...args: unknown[]) => {
    seen.log.push('read');
    return (fs.readSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.readSync;
  return { ...fs, default: { ...fs, fstatSync, readSync }, fstatSync, readSync };
});

afterAll(removeTempDirs);

describe('hashFileSync: settled', () => {
  it('reads, then fstats once, and takes the ctime and size from after the read', async () => {
    const { hashFileSync } = await import('../../src/export/read-file.js');
    const f = join(tempDir(), 'a.log');
    writeFileSync(f, 'some lines\n');
    const settledWith = (edit: ((st: Stats) => void) | null): number => {
      seen.log = [];
      seen.edit = edit;
      try {
        return hashFileSync(f, 1024, undefined, false, 1024).settledMs;
      } finally {
        seen.edit = null;
      }
    };
    const now = Date.now();
    expect(settledWith((st) => void (st.ctimeMs = now - 5000))).toBeGreaterThanOrEqual(5000);
    expect(seen.log).toEqual(['read', 'fstat']);
    // Written during the read (its ctime now), or a ctime ahead of the clock: not settled.
    expect(settledWith((st) => void (st.ctimeMs = Date.now()))).toBeLessThan(1000);
    expect(settledWith((st) => void (st.ctimeMs = Date.now() + 60_000))).toBe(-1);
    // A whole-second ctime may stand for a change up to two seconds later.
    const whole = Math.floor((now - 3000) / 1000) * 1000;
    const t0 = Date.now();
    const coarse = settledWith((st) => void (st.ctimeMs = whole));
    expect(coarse).toBeGreaterThanOrEqual(t0 - whole - 2000);
    expect(coarse).toBeLessThanOrEqual(Date.now() - whole - 2000);
    const fine = settledWith((st) => void (st.ctimeMs = whole + 0.5));
    expect(fine).toBeGreaterThanOrEqual(t0 - whole);
    // fstat tells of more bytes than the read gave: read on, and not settled.
    expect(settledWith((st) => void ((st.ctimeMs = now - 5000), (st.size += 1)))).toBe(-1);
    expect(seen.log).toEqual(['read', 'fstat', 'read']);
  });
});
