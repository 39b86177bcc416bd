/**
 * Ingest reads each input once; an input swapped for a symbolic link (or a FIFO) after
 * it was listed must be refused, not followed to whatever it now points at.
 */
import { spawnSync } from './helpers/spawn.js';
import { mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StellaError } from '../src/errors.js';
import { FsEvidenceStore, STORE_MARKER } from '../src/store/fs-store.js';
import { ingest, planIngest } from '../src/store/ingest.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { HAS_MKFIFO } from './helpers/tools.js';

afterAll(removeTempDirs);

const ctx = { actor: 'tester', time: '2026-11-01T10:00:00Z' };
const hasMkfifo = HAS_MKFIFO;

async function ingestAfter(swap: (victim: string, root: string) => void) {
  const root = tempDir();
  const dir = join(root, 'in');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'b.txt'), 'bravo\n');
  const files = planIngest([dir], false);
  swap(join(dir, 'b.txt'), root);
  const store = FsEvidenceStore.open(join(root, 'store'), { create: true });
  return ingest({ store, tenant: 'acme', files, labels: {}, scope: {}, ctx, storeRoot: store.location }).then(
    (r) => ({ r, err: null as unknown }),
    (err: unknown) => ({ r: null, err }),
  );
}

describe('store ingest of an input swapped after listing', () => {
  it('stores both files when nothing changes', async () => {
    const { r, err } = await ingestAfter(() => undefined);
    expect(err).toBeNull();
    expect(r!.added).toBe(2);
  });

  it('refuses a file swapped for a symbolic link, even to the same bytes', async () => {
    const { err } = await ingestAfter((victim, root) => {
      const secret = join(root, 'secret.txt');
      writeFileSync(secret, readFileSync(victim));
      unlinkSync(victim);
      symlinkSync(secret, victim);
    });
    expect(err).toBeInstanceOf(StellaError);
    expect((err as StellaError).code).toBe('INPUT_CHANGED');
    expect((err as Error).message).toContain('b.txt');
  });

  it.skipIf(!hasMkfifo)('refuses a file swapped for a FIFO at once', async () => {
    const { err } = await ingestAfter((victim) => {
      unlinkSync(victim);
      expect(spawnSync('mkfifo', [victim]).status).toBe(0);
    });
    expect((err as StellaError).code).toBe('INPUT_CHANGED');
  });

  it('refuses a file whose directory was swapped for a link into the store after the inputs were checked', async () => {
    const root = tempDir();
    const dir = join(root, 'in');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'alpha\n');
    // Named like a file the store holds, so the swapped path resolves to it.
    writeFileSync(join(dir, 'sub', STORE_MARKER), '{}\n');
    const files = planIngest([dir], false);
    const store = FsEvidenceStore.open(join(root, 'store'), { create: true });
    let calls = 0;
    // The real store; only the moment of the swap is staged: before the second file.
    const staged = new Proxy(store, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (key === 'putBlob') {
          return (...args: Parameters<typeof store.putBlob>) => {
            if (++calls === 2) {
              rmSync(join(dir, 'sub'), { recursive: true });
              symlinkSync(store.location, join(dir, 'sub'));
            }
            return target.putBlob(...args);
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const err = await ingest({ store: staged, tenant: 'acme', files, labels: {}, scope: {}, ctx, storeRoot: store.location }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(calls).toBe(2);
    expect((err as StellaError).code).toBe('INPUT_INSIDE_STORE');
    expect((err as Error).message).toContain(join('sub', STORE_MARKER));
  });
});
