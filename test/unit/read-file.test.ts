/**
 * The export's file reading: the hashing pass reads to the real end of a file, never
 * hangs on a FIFO, and says when a file's timestamps can vouch for it; content kept from
 * that pass is written only while the file is provably unchanged.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Arena } from '../../src/export/arena.js';
import { writeEntriesSync } from '../../src/export/blob-copy.js';
import { hashFileSync, InputReadError, unchangedSince } from '../../src/export/read-file.js';
import { sha256Hex } from '../../src/crypto/sha256.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(removeTempDirs);

const LATER = () => Date.now() + 60_000; // "settled before a minute from now": every file is
const hasMkfifo = spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status === 0;
const hasKallsyms = existsSync('/proc/kallsyms');

describe('hashFileSync', () => {
  it('hashes the whole file and keeps small content', () => {
    const f = join(tempDir(), 'a.txt');
    writeFileSync(f, 'hello\n');
    const r = hashFileSync(f, 1024, LATER());
    expect(r.sha256).toBe(sha256Hex(Buffer.from('hello\n')));
    expect(r.size).toBe(6);
    expect(r.content?.toString()).toBe('hello\n');
    expect(r.settled).toBe(true);
  });

  it('calls a file just written unsettled: its timestamps cannot yet tell a later change apart', () => {
    const f = join(tempDir(), 'fresh.txt');
    writeFileSync(f, 'x');
    expect(hashFileSync(f, 1024).settled).toBe(false);
  });

  it.skipIf(!hasKallsyms)('reads procfs files to their end although their reads come back short', () => {
    const want = readFileSync('/proc/kallsyms');
    const r = hashFileSync('/proc/kallsyms', 16 << 20, LATER());
    // The first read of /proc/kallsyms returns a few KB of a file of megabytes.
    const fd = openSync('/proc/kallsyms', 'r');
    const first = readSync(fd, Buffer.alloc(1 << 16), 0, 1 << 16, null);
    closeSync(fd);
    expect(first).toBeLessThan(want.length);
    expect(r.size).toBe(want.length);
  });

  it.skipIf(!hasMkfifo)('refuses a FIFO in place of a file at once instead of waiting for a writer', () => {
    const p = join(tempDir(), 'pipe');
    expect(spawnSync('mkfifo', [p]).status).toBe(0);
    let err: unknown = null;
    try {
      hashFileSync(p, 1024);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputReadError);
    expect((err as InputReadError).reason).toBe('changed');
  });
});

describe('content kept from the hashing pass', () => {
  const setup = () => {
    const dir = tempDir();
    const f = join(dir, 'kept.txt');
    writeFileSync(f, 'kept content\n');
    const r = hashFileSync(f, 1024, LATER());
    const arena = Arena.create(1024);
    const kept = arena.keep(r.content!);
    const out = join(dir, 'out.tar');
    writeFileSync(out, '');
    const entry = { name: 'blobs/sha256/' + r.sha256, size: r.size, mode: 0o644, path: f, kept, identity: r.identity };
    return { dir, f, r, arena, out, entry };
  };
  const write = (out: string, entry: object, arena: Arena | null) => {
    const fd = openSync(out, 'r+');
    try {
      return writeEntriesSync(fd, 0, [entry as never], 0, () => undefined, arena);
    } finally {
      closeSync(fd);
    }
  };
  const changed = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof InputReadError && e.reason === 'changed';
    }
    return false;
  };

  it('is written from memory while the file is unchanged', () => {
    const { out, entry, arena } = setup();
    expect(write(out, entry, arena)).toBe(512 + 512);
    expect(readFileSync(out).subarray(512, 512 + 13).toString()).toBe('kept content\n');
  });

  it('is refused as changed after an append, a rename over it, or its removal', () => {
    const a = setup();
    appendFileSync(a.f, 'more');
    expect(changed(() => write(a.out, a.entry, a.arena))).toBe(true);

    const b = setup();
    writeFileSync(join(b.dir, 'other'), 'kept content\n'); // same bytes, another inode
    renameSync(join(b.dir, 'other'), b.f);
    expect(changed(() => unchangedSince(b.f, b.r.identity))).toBe(true);

    const c = setup();
    renameSync(c.f, c.f + '.gone');
    expect(changed(() => unchangedSince(c.f, c.r.identity))).toBe(true);
  });

  it('is never written without its arena, path or identity', () => {
    const { out, entry } = setup();
    expect(() => write(out, entry, null)).toThrow(/kept content without/);
    expect(() => write(out, { ...entry, identity: undefined }, Arena.create(64))).toThrow(/kept content without/);
  });
});
