/**
 * A file system that lists one name twice in a directory (a damaged or misbehaving one):
 * the export refuses its inputs instead of writing a manifest with the name twice.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const twice = { dir: '' };
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const readdirSync = ((path: string, opts: unknown) => {
    const got = (fs.readdirSync as (p: string, o: unknown) => unknown[])(path, opts);
    return path === twice.dir ? [...got, ...got.slice(0, 1)] : got;
  }) as typeof fs.readdirSync;
  return { ...fs, default: { ...fs, readdirSync }, readdirSync };
});

afterAll(removeTempDirs);

describe('collectInputs', () => {
  it('refuses a directory whose listing holds a name twice, and takes it as listed otherwise', async () => {
    const { collectInputs } = await import('../../src/export/collect.js');
    const dir = join(tempDir(), 'in');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    for (const name of ['a.txt', 'b.txt', 'sub/c.txt']) writeFileSync(join(dir, name), name);
    expect(collectInputs([dir]).map((f) => f.name)).toEqual(['a.txt', 'b.txt', 'sub/c.txt']);
    twice.dir = join(dir, 'sub');
    expect(() => collectInputs([dir])).toThrow(/lists "sub\/c.txt" twice/);
    expect(() => collectInputs([dir])).toThrow(expect.objectContaining({ code: 'INPUT_NAME_CONFLICT' }));
  });
});
