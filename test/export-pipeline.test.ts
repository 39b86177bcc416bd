import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync, appendFileSync, truncateSync, symlinkSync } from 'node:fs';
import { spawnSync } from './helpers/spawn.js';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { exportBundle, writeBundle, type ExportOptions, type ExportProgress } from '../src/export/export.js';
import { parsePrivateKeyPem } from '../src/crypto/keys.js';
import { sha256Hex } from '../src/crypto/sha256.js';
import { StellaError } from '../src/errors.js';
import { KEEP_MAX_FILE, KEEP_SETTLED_MS } from '../src/export/spill.js';
import { CREATED_AT, KEYS, mustRun, REPO } from './helpers/cli.js';
import { HAS_MKFIFO } from './helpers/tools.js';
import { writeTrustFile } from './helpers/keys.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

afterAll(removeTempDirs);

const key = parsePrivateKeyPem(readFileSync(KEYS.acme.key, 'utf8'), KEYS.acme.key, undefined);

/**
 * 605 files of every kind the passes treat apart: small and large, duplicates, empty, JSON,
 * a non-ASCII name. `dirs` of 100 small files each.
 */
function manyFiles(root: string, dirs = 6): string {
  const dir = join(root, 'in');
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(dir, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + ((d * 100 + f) % 37)));
  }
  writeFileSync(join(dir, 'big-1.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  writeFileSync(join(dir, 'big-copy.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7)); // same content: one blob
  writeFileSync(join(dir, 'sbom.cdx.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6' }));
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'ünïcödé-ñame.log'), 'x\n');
  return dir;
}

/** Progress that makes `edit` once, when the hashing pass has ended and before the writing pass starts. */
function afterHashing(edit: () => void): { onProgress: (p: ExportProgress) => void; edited: () => boolean } {
  let done = false;
  return {
    onProgress: (p) => {
      if (!done && p.phase === 'hash' && p.files === p.totalFiles) {
        done = true;
        edit();
      }
    },
    edited: () => done,
  };
}

const base = (dir: string, out: string, extra: Partial<ExportOptions> = {}): ExportOptions => ({
  tenant: 'acme',
  keys: [key],
  out,
  inputs: [dir],
  createdAt: CREATED_AT,
  ...extra,
});

/** The compiled build's pool module: only it starts threads (the worker is compiled). */
const compiledPool = async () => (await import(join(REPO, 'dist', 'export', 'pool.js'))) as typeof import('../src/export/pool.js');

/** A hashing job of one file, `name` in `dir`, holding `text`. */
function hashJobOf(dir: string, name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return { kind: 'hash' as const, files: [{ name, path }] };
}

describe('export pipeline', () => {
  it('refuses, before reading anything, a creation time not written as the command line writes it or outside a tar header', async () => {
    const root = tempDir();
    for (const createdAt of ['2026-11-01T02:00:00+02:00', '1969-12-31T23:59:59Z', '2242-03-16T12:56:32Z']) {
      // A missing input would be refused too, but later: the time is checked first.
      const err = await exportBundle(base(join(root, 'missing'), join(root, 'x.tar'), { createdAt })).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'TIME_INVALID', exitCode: 2 });
      const viaWriter = await writeBundle({ tenant: 'acme', keys: [key], out: join(root, 'y.tar'), createdAt, items: [] }).then(() => null, (e: unknown) => e);
      expect(viaWriter).toMatchObject({ code: 'TIME_INVALID', exitCode: 2 });
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('writes the same bytes on worker threads (compiled) as inline (sources), and the bundle verifies', async () => {
    const root = tempDir();
    const dir = manyFiles(root);
    const compiled = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
    const seen: ExportProgress[] = [];
    const inline = await exportBundle(base(dir, join(root, 'inline.tar')));
    const pooled = await compiled.exportBundle(base(dir, join(root, 'pooled.tar'), { threads: 2, onProgress: (p) => seen.push(p) }));
    expect(pooled).toEqual({ ...inline, out: join(root, 'pooled.tar') });
    expect(inline.artifacts).toBe(605);
    expect(inline.blobs).toBeLessThan(605);
    expect(readFileSync(join(root, 'pooled.tar')).equals(readFileSync(join(root, 'inline.tar')))).toBe(true);

    // Progress: the hash phase, then the write phase, each ending at its totals.
    const lastOf = (phase: string) => seen.filter((p) => p.phase === phase).at(-1)!;
    expect(lastOf('hash')).toMatchObject({ files: 605, totalFiles: 605 });
    // Under 10,000 inputs: a stat each, so the hashing pass knows its byte total.
    expect(lastOf('hash').totalBytes).toBe(inline.bytes);
    expect(lastOf('hash').bytes).toBe(inline.bytes);
    expect(lastOf('write').bytes).toBe(lastOf('write').totalBytes);
    expect(lastOf('write').files).toBe(lastOf('write').totalFiles);
    expect(seen.findIndex((p) => p.phase === 'write')).toBeGreaterThan(seen.findIndex((p) => p.phase === 'hash'));

    const trust = writeTrustFile(join(root, 'trust.json'), { acme: [KEYS.acme.pub] });
    const v = mustRun(['verify', join(root, 'pooled.tar'), '--trust', trust, '--tenant', 'acme']);
    expect(v.stdout).toMatch(/^verified: /m);
  });

  it('signs with no key whose public half is not the one the bundle would name, and leaves no bundle', async () => {
    const root = tempDir();
    const dir = join(root, 'in');
    mkdirSync(dir);
    for (let k = 0; k < 20; k++) writeFileSync(join(dir, `f${k}.txt`), `file ${k}\n`);
    const other = parsePrivateKeyPem(readFileSync(KEYS.globex.key, 'utf8'), KEYS.globex.key, undefined);
    // acme's seed, named as globex's key.
    const forged = { ...other, seed: key.seed };
    const compiled = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
    const cases: [string, (o: ExportOptions) => Promise<unknown>, Partial<ExportOptions>][] = [
      ['plain.tar', exportBundle, {}],
      ['threads.tar', compiled.exportBundle, { threads: 2 }],
      ['zipped.tar.gz', exportBundle, {}],
    ];
    for (const [name, run, extra] of cases) {
      const out = join(root, name);
      await expect(run(base(dir, out, { keys: [forged], ...extra }))).rejects.toThrow(/does not match the public key/);
      expect(readdirSync(root).sort()).toEqual(['in']);
    }
  });

  it('starts worker threads only where they repay their start, or when asked', async () => {
    const { JobPool, THREADS_MIN_FILES, THREADS_MIN_BYTES } = await compiledPool();
    expect([THREADS_MIN_FILES, THREADS_MIN_BYTES]).toEqual([10_000, 256 * 2 ** 20]);
    expect(JobPool.worth(THREADS_MIN_FILES - 1, THREADS_MIN_BYTES - 1)).toBe(false);
    expect(JobPool.worth(THREADS_MIN_FILES, 0)).toBe(true);
    expect(JobPool.worth(1, THREADS_MIN_BYTES)).toBe(true);
    const cores = availableParallelism();
    const cases: Array<[threads: number | undefined, files: number, want: number]> = [
      [undefined, 605, 0],
      [undefined, THREADS_MIN_FILES, cores > 1 ? Math.min(cores, 8) : 0],
      [0, 1_000_000, 0],
      [2, 1, 2],
      [Number.NaN, 605, 0],
    ];
    for (const [threads, files, want] of cases) {
      const pool = JobPool.create(files, 0, threads);
      expect(pool.threads).toBe(want);
      await pool.close();
    }
  });

  it('keeps overlapping runs apart: each gets the results of its own jobs', async () => {
    const { JobPool } = await compiledPool();
    const dir = tempDir();
    const hex = (k: number) => sha256Hex(Buffer.from(`content ${k}\n`));
    const pool = JobPool.create(0, 0, 2);
    try {
      // Job k of one run and job k of the other go to the same thread at the same time.
      const jobs = (from: number) => Array.from({ length: 6 }, (_, k) => hashJobOf(dir, `f${from + k}`, `content ${from + k}\n`));
      type Got = { digests: string[] };
      const [a, b] = await Promise.all([pool.run<Got>(jobs(0)), pool.run<Got>(jobs(100))]);
      expect(a.map((r) => r.digests[0])).toEqual([0, 1, 2, 3, 4, 5].map(hex));
      expect(b.map((r) => r.digests[0])).toEqual([100, 101, 102, 103, 104, 105].map(hex));
    } finally {
      await pool.close();
    }
  });

  it('starts no job of a run once it is told to stop, on threads or inline, and says it stopped', async () => {
    const { JobPool } = await compiledPool();
    const dir = tempDir();
    const jobs = Array.from({ length: 40 }, (_, k) => hashJobOf(dir, `s${k}`, `${k}`));
    for (const threads of [0, 2]) {
      const pool = JobPool.create(0, 0, threads);
      try {
        let asked = 0;
        await expect(pool.run(jobs, () => ++asked > 3)).rejects.toThrow(/stopped before all its jobs ran/);
        // Three jobs started, and the lanes in flight may each have asked once more.
        expect(pool.done().files).toBeGreaterThanOrEqual(3);
        expect(pool.done().files).toBeLessThan(10);
        expect((await pool.run<unknown[]>(jobs)).length).toBe(40);
      } finally {
        await pool.close();
      }
    }
  });

  it('shows each result as it comes, once, with its job; a throw there fails the run (threads or inline)', async () => {
    const { JobPool } = await compiledPool();
    const dir = tempDir();
    const jobs = Array.from({ length: 12 }, (_, k) => hashJobOf(dir, `r${k}`, `result ${k}\n`));
    type Got = { digests: string[] };
    for (const threads of [0, 2]) {
      const pool = JobPool.create(0, 0, threads);
      try {
        const seen: [number, string][] = [];
        const doneThen: number[] = [];
        const got = await pool.run<Got>(jobs, undefined, (r, k) => {
          seen.push([k, r.digests[0]]);
          doneThen.push(pool.done().files);
        });
        // Inline, each result is shown before the next job runs (a file a job).
        if (threads === 0) expect(doneThen).toEqual(jobs.map((_, k) => k + 1));
        expect(seen.sort((a, b) => a[0] - b[0])).toEqual(got.map((r, k) => [k, r.digests[0]]));
        expect(seen.map(([, d]) => d)).toEqual(jobs.map((_, k) => sha256Hex(`result ${k}\n`)));
        let calls = 0;
        await expect(
          pool.run<Got>(jobs, undefined, () => {
            if (++calls === 3) throw new Error('cannot take this result');
          }),
        ).rejects.toThrow('cannot take this result');
      } finally {
        await pool.close();
      }
    }
  });

  it('makes a job given as a function only when it hands it out, on threads or inline', async () => {
    const { JobPool } = await compiledPool();
    const dir = tempDir();
    const job = (k: number) => hashJobOf(dir, `l${k}`, `lazy ${k}\n`);
    for (const threads of [0, 2]) {
      const pool = JobPool.create(0, 0, threads);
      try {
        const made: number[] = [];
        const lazy = (k: number) => () => (made.push(k), job(k));
        type Got = { digests: string[] };
        // Made and plain jobs mixed: results in job order.
        const got = await pool.run<Got>([lazy(0), job(1), lazy(2), lazy(3)]);
        expect(got.map((r) => r.digests[0])).toEqual([0, 1, 2, 3].map((k) => sha256Hex(`lazy ${k}\n`)));
        expect(made.sort()).toEqual([0, 2, 3]);
        // Once stopped, the jobs not handed out are never made.
        made.length = 0;
        let asked = 0;
        const many = Array.from({ length: 40 }, (_, k) => lazy(k));
        await expect(pool.run(many, () => ++asked > 3)).rejects.toThrow(/stopped before all its jobs ran/);
        expect(made.length).toBeGreaterThanOrEqual(3);
        expect(made.length).toBeLessThan(10);
        // A job that cannot be made fails the run with its error.
        const broken = () => {
          throw new Error('cannot make this job');
        };
        await expect(pool.run([job(0), broken, job(1)])).rejects.toThrow('cannot make this job');
      } finally {
        await pool.close();
      }
    }
  });

  it.each([
    ['in memory', undefined],
    ['in the file', 0],
  ] as const)("keeps the code and exit code of the tool's own errors raised on a thread (a copy kept %s)", async (where, arenaBytes) => {
    const { JobPool } = await compiledPool();
    const spillMod = (await import(join(REPO, 'dist', 'export', 'spill.js'))) as typeof import('../src/export/spill.js');
    const root = tempDir();
    const spill = spillMod.openSpill(join(root, 'out.tar'), undefined, arenaBytes)!;
    const out = openSync(join(root, 'x.tar'), 'w');
    const pool = JobPool.create(0, 0, 2);
    try {
      const c = Buffer.from('kept bytes');
      const batch = new spillMod.SpillBatch(spill);
      batch.add(c);
      const [at] = batch.settle();
      // The copy is damaged: in memory the thread shares, or in the file.
      if (where === 'in memory') new Uint8Array(spill.arena!)[at!] = 0x4b;
      else writeSync(spill.fd, Buffer.from('K'), 0, 1, at!);
      const name = `blobs/sha256/${sha256Hex(c)}`;
      const entries = [{ name, size: c.length, mode: 0o644, sha256: sha256Hex(c), path: '', kept: { store: { fd: spill.fd, arena: spill.arena }, at: at! } }];
      const err = await pool.run([{ kind: 'write', fd: out, position: 0, mtimeSec: 0, entries }]).then(() => null, (e: unknown) => e);
      expect(pool.threads).toBe(2);
      expect(err).toMatchObject({ name: 'StellaError', code: 'SPILL_DAMAGED', exitCode: 1 });
      expect((err as Error).message).toContain(name);
    } finally {
      await pool.close();
      closeSync(out);
      spillMod.closeSpill(spill);
    }
  });

  // 10,005 inputs, made once for the two tests that need that many.
  let tenThousand: string | null = null;
  const manyMore = (): string => (tenThousand ??= manyFiles(tempDir(), 100));

  it('from 10,000 inputs, learns the byte total by reading, not by a stat each', async () => {
    const root = tempDir();
    const dir = manyMore();
    const compiled = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
    const seen: ExportProgress[] = [];
    const r = await compiled.exportBundle(base(dir, join(root, 'many.tar'), { onProgress: (p) => seen.push(p) }));
    expect(r.artifacts).toBe(10_005);
    const hash = seen.filter((p) => p.phase === 'hash');
    expect(hash.at(-1)).toMatchObject({ files: 10_005, totalFiles: 10_005, bytes: r.bytes });
    expect(hash.every((p) => p.totalBytes === undefined)).toBe(true);
  });

  it('the command, with 10,005 inputs (worker threads, where there are two cores or more), writes a whole bundle that verifies', () => {
    const root = tempDir();
    const dir = manyMore();
    const out = join(root, 'cli.tar');
    const r = mustRun(['export', '--tenant', 'acme', '--key', KEYS.acme.key, '--created-at', CREATED_AT, '--out', out, '--json', dir]);
    expect(JSON.parse(r.stdout)).toMatchObject({ artifacts: 10_005 });
    const trust = writeTrustFile(join(root, 'trust.json'), { acme: [KEYS.acme.pub] });
    const v = mustRun(['verify', out, '--trust', trust, '--tenant', 'acme']);
    expect(v.stdout).toMatch(/^verified: /m);
  });

  it('gzip output holds exactly the plain archive', async () => {
    const root = tempDir();
    const dir = manyFiles(root);
    await exportBundle(base(dir, join(root, 'a.tar')));
    await exportBundle(base(dir, join(root, 'a.tar.gz'), { gzipLevel: 1 }));
    expect(gunzipSync(readFileSync(join(root, 'a.tar.gz'))).equals(readFileSync(join(root, 'a.tar')))).toBe(true);
  });

  // An input edited between the hashing pass and the writing pass must fail the export:
  // the bundle would otherwise contradict its signed manifest.
  const edits: Array<[string, (p: string) => void]> = [
    ['same size, new content', (p) => writeFileSync(p, Buffer.alloc(3 * 1024 * 1024 + 17, 8))],
    ['grew', (p) => appendFileSync(p, 'more')],
    ['shrank', (p) => truncateSync(p, 100)],
    ['deleted', (p) => unlinkSync(p)],
    // Same bytes behind the link: only refusing to follow it tells the swap apart.
    [
      'swapped for a symbolic link to the same content',
      (p) => {
        const elsewhere = join(dirname(dirname(p)), 'elsewhere.bin');
        writeFileSync(elsewhere, readFileSync(p));
        unlinkSync(p);
        symlinkSync(elsewhere, p);
      },
    ],
  ];
  // Opened without O_NONBLOCK, a FIFO with no writer would hang the writing pass forever.
  if (HAS_MKFIFO) {
    edits.push(['swapped for a FIFO', (p) => (unlinkSync(p), spawnSync('mkfifo', [p]))]);
  }
  for (const [what, edit] of edits) {
    for (const mode of ['inline', 'worker threads'] as const) {
      it(`refuses an input that changed between the passes (${what}, ${mode})`, async () => {
        const root = tempDir();
        const dir = manyFiles(root);
        const out = join(root, `${mode}.tar`);
        const lib =
          mode === 'inline'
            ? { exportBundle }
            : ((await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js'));
        const { onProgress, edited } = afterHashing(() => edit(join(dir, 'big-1.bin')));
        const err = await lib.exportBundle(base(dir, out, { onProgress, ...(mode === 'inline' ? {} : { threads: 2 }) })).then(
          () => null,
          (e: unknown) => e,
        );
        expect(edited()).toBe(true);
        expect(err).toBeInstanceOf(Error);
        expect((err as StellaError).code).toBe('INPUT_CHANGED');
        expect((err as Error).message).toContain('big-1.bin');
        expect(() => readFileSync(out)).toThrow(/ENOENT/);
        rmSync(root, { recursive: true, force: true });
      });
    }
  }

  // A settled file of up to KEEP_MAX_FILE bytes is read once: the writing pass copies the
  // bytes the hashing pass read, so an edit in between cannot reach the bundle. A file
  // changed within KEEP_SETTLED_MS before it was read, or one byte larger, is read again,
  // and the edit is refused.
  // Kept in memory (the default), in the file (none in memory), and in both: 40 KB of
  // memory holds the first few batches' small files, the file the rest.
  const modes = [
    ['inline', {}, 'tar'],
    ['worker threads', { threads: 2 }, 'tar'],
    ['gzip', { threads: 2 }, 'tar.gz'],
    ['inline, kept in the file', { keepInMemory: 0 }, 'tar'],
    ['worker threads, kept in the file', { threads: 2, keepInMemory: 0 }, 'tar'],
    ['gzip, kept in the file', { threads: 2, keepInMemory: 0 }, 'tar.gz'],
    ['worker threads, kept in memory and the file', { threads: 2, keepInMemory: 40_000 }, 'tar'],
  ] as const;
  const settled = new Map<string, string>();
  const settle = async (): Promise<void> => {
    if (settled.size > 0) return;
    for (const [mode] of modes) {
      const root = tempDir();
      const dir = manyFiles(root);
      writeFileSync(join(dir, 'edge.bin'), Buffer.alloc(KEEP_MAX_FILE, 1));
      settled.set(mode, root);
    }
    // Once for all: their inputs' ctimes must be this old when they are read.
    await new Promise((r) => setTimeout(r, KEEP_SETTLED_MS + 100));
  };
  const smallEdits = (dir: string) => {
    writeFileSync(join(dir, 'd0', 'f1.txt'), 'edited\n');
    writeFileSync(join(dir, 'edge.bin'), Buffer.alloc(KEEP_MAX_FILE, 2));
    unlinkSync(join(dir, 'd5', 'f99.txt'));
  };
  for (const [mode, extra, ext] of modes) {
    it(`writes a small settled input as the hashing pass read it, whatever happens to it before the writing pass (${mode})`, async () => {
      await settle();
      const root = settled.get(mode)!;
      const dir = join(root, 'in');
      const lib = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
      const run = mode === 'inline' ? exportBundle : lib.exportBundle;
      const outs = join(root, 'out');
      mkdirSync(outs);
      const before = await run(base(dir, join(outs, `before.${ext}`), extra));
      const { onProgress, edited } = afterHashing(() => smallEdits(dir));
      const during = await run(base(dir, join(outs, `during.${ext}`), { ...extra, onProgress }));
      expect(edited()).toBe(true);
      expect(during.manifestSha256).toBe(before.manifestSha256);
      expect(readFileSync(join(outs, `during.${ext}`)).equals(readFileSync(join(outs, `before.${ext}`)))).toBe(true);
      // The spill is unlinked as soon as it is made: nothing but the bundles is left.
      expect(readdirSync(outs).sort()).toEqual([`before.${ext}`, `during.${ext}`]);
    });
  }

  for (const mode of ['inline', 'worker threads'] as const) {
    it(`reads a small input changed just before the export again, and refuses it changed (${mode})`, async () => {
      const root = tempDir();
      const dir = manyFiles(root);
      const lib = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
      const run = mode === 'inline' ? exportBundle : lib.exportBundle;
      // The file must still be fresh when the hashing pass reads it: that pass has ended
      // before the edit, so an edit under KEEP_SETTLED_MS after the write proves it was.
      // A machine too slow for that gets another try, not a pass.
      for (let attempt = 1; ; attempt++) {
        const written = Date.now();
        writeFileSync(join(dir, 'edge.bin'), Buffer.alloc(KEEP_MAX_FILE, 1));
        let editedAfter = -1;
        const onProgress = (p: ExportProgress) => {
          if (editedAfter < 0 && p.phase === 'hash' && p.files === p.totalFiles) {
            editedAfter = Date.now() - written;
            writeFileSync(join(dir, 'edge.bin'), Buffer.alloc(KEEP_MAX_FILE, 2));
          }
        };
        const out = join(root, `x${attempt}.tar`);
        const err = await run(base(dir, out, { onProgress, ...(mode === 'inline' ? {} : { threads: 2 }) })).then(() => null, (e: unknown) => e);
        expect(editedAfter).toBeGreaterThanOrEqual(0);
        if (editedAfter >= KEEP_SETTLED_MS - 100 && attempt < 3) continue;
        expect(editedAfter).toBeLessThan(KEEP_SETTLED_MS - 100);
        expect((err as StellaError).code).toBe('INPUT_CHANGED');
        expect((err as Error).message).toContain('edge.bin');
        break;
      }
    });
  }

  // Every descriptor the export opened (the spill among them) is closed, whichever pass failed.
  it.skipIf(!existsSync('/proc/self/fd') || !existsSync('/proc/self/mem'))('leaves no descriptor open after a failure in either pass', async () => {
    const open = () => readdirSync('/proc/self/fd').length;
    const root = tempDir();
    const dir = manyFiles(root);
    const before = open();
    // /proc/self/mem cannot be read from its start: the hashing pass fails (EIO).
    const hashing = await exportBundle(base(dir, join(root, 'a.tar'), { inputs: [dir, '/proc/self/mem'] })).then(() => null, (e: unknown) => e);
    expect((hashing as StellaError).code).toBe('INPUT_UNREADABLE');
    expect(open()).toBe(before);
    const { onProgress, edited } = afterHashing(() => appendFileSync(join(dir, 'big-1.bin'), 'more'));
    const writing = await exportBundle(base(dir, join(root, 'b.tar'), { onProgress })).then(() => null, (e: unknown) => e);
    expect(edited()).toBe(true);
    expect((writing as StellaError).code).toBe('INPUT_CHANGED');
    expect(open()).toBe(before);
    expect(readdirSync(root)).toEqual(['in']);
  });

  // Inline (sources), the one write job (two distinct contents) runs as the pool is handed
  // it; the metadata of 8,000 artifacts takes several slices, so the job's failure stops
  // it between two, and is the error reported, not the stop. On threads (compiled), a
  // thread that signs as the manifest is made is waiting for the rest of it: it is told
  // none will come, else the export would wait for it for ever.
  it.each([
    ['inline', false],
    ['on threads', true],
  ])('reports an input that changed between the passes, not the metadata it stopped (%s)', async (_how, threads) => {
    const root = tempDir();
    const dir = join(root, 'in');
    mkdirSync(dir);
    for (let k = 0; k < 8000; k++) writeFileSync(join(dir, `same-${k}.txt`), 'the same\n');
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(KEEP_MAX_FILE * 4, 1));
    const { onProgress, edited } = afterHashing(() => appendFileSync(join(dir, 'big.bin'), 'more'));
    const run = threads ? ((await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js')).exportBundle : exportBundle;
    const err = await run(base(dir, join(root, 'x.tar'), { onProgress, threads: threads ? 2 : undefined })).then(() => null, (e: unknown) => e);
    expect(edited()).toBe(true);
    expect((err as StellaError).code).toBe('INPUT_CHANGED');
    expect((err as Error).message).toContain('big.bin');
    expect(readdirSync(root)).toEqual(['in']);
  });

  // The blobs are placed before the checksum list is made, and the list checks every digit
  // only as the pool copies: the items' digests are checked first, each named.
  it('writes no bundle for an item whose digest is not lowercase hex past its first digits', async () => {
    const root = tempDir();
    const file = join(root, 'a.txt');
    writeFileSync(file, 'a\n');
    const digest = sha256Hex('a\n');
    const bad = digest.slice(0, 60) + 'ABCD';
    const item = (sha256: string, name: string) => ({
      artifact: { kind: 'file', mediaType: 'text/plain', name, sha256, size: 2, tenant: 'acme' },
      source: { path: file },
    });
    const spec = (sha256: string, threads = 0) => ({ tenant: 'acme', keys: [key], out: join(root, 'x.tar'), createdAt: CREATED_AT, items: [item(sha256, 'a.txt')], threads });
    // Inline, and on threads (the compiled build), where a copy job could meet the digest
    // before the checksum list does: the digest is what is reported, not a changed input.
    const compiled = (await import(join(REPO, 'dist', 'export', 'export.js'))) as typeof import('../src/export/export.js');
    for (const [write, threads] of [[writeBundle, 0], [compiled.writeBundle, 2]] as const) {
      await expect(write(spec(bad, threads))).rejects.toThrow(`cannot bundle a.txt: its digest "${bad}" is not 64 lowercase hex digits`);
      expect(readdirSync(root)).toEqual(['a.txt']);
    }
    // The same item with its true digest makes the bundle.
    await writeBundle(spec(digest));
    expect(readdirSync(root).sort()).toEqual(['a.txt', 'x.tar']);
  });

  it('reads a file one byte larger than is kept again, and refuses it changed', async () => {
    const root = tempDir();
    const dir = manyFiles(root);
    writeFileSync(join(dir, 'over.bin'), Buffer.alloc(KEEP_MAX_FILE + 1, 1));
    const outs = join(root, 'out');
    mkdirSync(outs);
    const { onProgress, edited } = afterHashing(() => writeFileSync(join(dir, 'over.bin'), Buffer.alloc(KEEP_MAX_FILE + 1, 2)));
    const err = await exportBundle(base(dir, join(outs, 'x.tar'), { onProgress })).then(() => null, (e: unknown) => e);
    expect(edited()).toBe(true);
    expect((err as StellaError).code).toBe('INPUT_CHANGED');
    expect((err as Error).message).toContain('over.bin');
    expect(readdirSync(outs)).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });
});
