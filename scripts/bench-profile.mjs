#!/usr/bin/env node
/**
 * Where an export's time goes, next to what this machine can do at best. Run by
 * `npm run bench` on its own data (or by hand: node scripts/bench-profile.mjs DIR...),
 * it prints one JSON document on stdout:
 *
 * - phases of the library's export, from its progress callbacks (each pass reports
 *   once more when it ends): collecting the inputs, the hashing pass, the writing pass
 *   (manifest, signature and every entry), then fsync and rename;
 * - the hardware figures that bound them (the fastest of 3 each): node:crypto SHA-256 on
 *   one core, writing plus fdatasync of as many bytes as the bundle holds, and the two
 *   passes over the inputs with nothing else: a thread per core opening, reading,
 *   hashing and closing each file (the first pass also fstats, and keeps the bytes of
 *   files up to 8 KiB in memory up to the export's bound, then in a spill, from which
 *   the second takes them), as the export's passes must at least;
 * - memory: the export's minor page faults (first touches of a page, whatever thread),
 *   and what a first touch costs here, timed on fresh memory.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createHash, hash as hashOnce } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Run as a reading thread of readPassesMs: once started, read the files handed over,
// then report. The clock starts when every thread is up: the export starts its threads
// once, not once a pass.
if (!isMainThread) {
  const buf = Buffer.allocUnsafe(1 << 20);
  const { files, first: isFirst, spill, keepMax, kept: keptIn, arena } = await new Promise((resolve) => {
    parentPort.once('message', resolve);
    parentPort.postMessage('up');
  });
  // As the export: the first pass keeps the bytes of files up to keepMax in memory (this
  // thread's share of the export's bound), then in a spill (one write a MiB); the second
  // copies those from memory, or reads them from the spill, one call each. A place below
  // the memory's length is in it; from there on, in the spill.
  const memory = new Uint8Array(arena);
  let memoryEnd = 0;
  const spillFd = openSync(spill, isFirst ? 'w+' : 'r');
  const room = Buffer.allocUnsafe(1 << 20);
  let fill = 0;
  let spillEnd = 0;
  const flush = () => {
    writeSync(spillFd, room, 0, fill, spillEnd);
    spillEnd += fill;
    fill = 0;
  };
  const kept = [];
  for (let i = 0; i < files.length; i++) {
    const p = files[i];
    // `kept` holds a place and a size per file (-1: not kept).
    const at = isFirst ? -1 : keptIn[2 * i];
    if (at >= 0) {
      const size = keptIn[2 * i + 1];
      if (at < memory.length) buf.set(memory.subarray(at, at + size));
      else readSync(spillFd, buf, 0, size, at - memory.length);
      hashOnce('sha256', buf.subarray(0, size));
      continue;
    }
    const fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    // No more calls than the export's passes make, and no costlier ones: the first pass
    // stops at fstat's size (the export reads on until read() says 0), the second at a
    // read that comes back short of what it asked; a file read in one call is hashed
    // with the one-shot call, as the export does.
    const size = isFirst ? fstatSync(fd).size : -1;
    const first = readSync(fd, buf, 0, buf.length, null);
    if (first === size || (size < 0 && first < buf.length)) {
      hashOnce('sha256', buf.subarray(0, first));
      if (isFirst && first <= keepMax && memoryEnd + first <= memory.length) {
        memory.set(buf.subarray(0, first), memoryEnd);
        kept.push(memoryEnd, first);
        memoryEnd += first;
      } else if (isFirst && first <= keepMax) {
        if (fill + first > room.length) flush();
        buf.copy(room, fill, 0, first);
        kept.push(memory.length + spillEnd + fill, first);
        fill += first;
      } else if (isFirst) kept.push(-1, 0);
    } else {
      if (isFirst) kept.push(-1, 0);
      const hash = createHash('sha256');
      hash.update(buf.subarray(0, first));
      for (let got = first, n; first > 0 && (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
        hash.update(buf.subarray(0, n));
        got += n;
        if (got === size || (size < 0 && n < buf.length)) break;
      }
      hash.digest();
    }
    closeSync(fd);
  }
  if (isFirst) flush();
  closeSync(spillFd);
  parentPort.postMessage(isFirst ? kept : 'done');
  await new Promise(() => undefined);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS) || 5);
const { exportBundle } = await import(join(ROOT, 'dist', 'export', 'export.js'));
const { collectInputs } = await import(join(ROOT, 'dist', 'export', 'collect.js'));
const { parsePrivateKeyPem } = await import(join(ROOT, 'dist', 'crypto', 'keys.js'));
const key = parsePrivateKeyPem(readFileSync(join(ROOT, 'fixtures', 'keys', 'acme-signer.key'), 'utf8'), 'test key');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const now = () => performance.now();

async function exportPhases(dir, out) {
  rmSync(out, { force: true });
  const faults0 = process.resourceUsage().minorPageFault;
  const t0 = now();
  const ends = {};
  const r = await exportBundle({
    tenant: 'bench',
    keys: [key],
    out,
    inputs: [dir],
    createdAt: '2026-01-01T00:00:00Z',
    onProgress: (p) => {
      if (p.files === p.totalFiles) ends[p.phase] ??= now() - t0;
    },
  });
  const total = now() - t0;
  const faults = process.resourceUsage().minorPageFault - faults0;
  rmSync(out, { force: true });
  return { hashEnd: ends.hash, writeEnd: ends.write, total, faults, bytes: r.bytes, bundleBytes: r.bundleBytes, artifacts: r.artifacts };
}

/** SHA-256 of an in-memory buffer on this thread: the per-core ceiling for hashing. */
function sha256MBps() {
  const buf = Buffer.alloc(256 << 20, 0x5a);
  const ts = [];
  for (let k = 0; k < 3; k++) {
    const t = now();
    createHash('sha256').update(buf).digest();
    ts.push(now() - t);
  }
  return buf.length / 1e6 / (Math.min(...ts) / 1000);
}

/**
 * MB/s of @noble/hashes' SHA-512 on one core, in memory: the hash Ed25519 runs twice over
 * an export's manifest. Pure JavaScript, so it shows how fast this machine runs the
 * export's own code in the hour of the run, which drifts far more than native hashing.
 */
async function sha512NobleMBps() {
  const { sha512 } = await import('@noble/hashes/sha2.js');
  const buf = Buffer.alloc(16 << 20, 0x5a);
  const ts = [];
  for (let k = 0; k < 3; k++) {
    const t = now();
    sha512(buf);
    ts.push(now() - t);
  }
  return buf.length / 1e6 / (Math.min(...ts) / 1000);
}

/**
 * Microseconds per 4 KiB page for a first touch of fresh memory: a 64 MiB buffer outside
 * the JavaScript heap, written one byte a page (the median of 3, each on new memory).
 */
function firstTouchUsPerPage() {
  const ts = [];
  for (let k = 0; k < 3; k++) {
    const b = Buffer.allocUnsafeSlow(64 << 20);
    const t = now();
    for (let at = 0; at < b.length; at += 4096) b[at] = 1;
    ts.push(((now() - t) * 1000) / (b.length / 4096));
  }
  return median(ts);
}

/** Write `bytes` to a new file in `where` and fdatasync it: what making the bundle durable costs. */
function writeAndSyncMs(where, bytes) {
  const d = mkdtempSync(join(where, 'sync-'));
  const chunk = Buffer.alloc(4 << 20, 0x33);
  const ts = [];
  for (let k = 0; k < 3; k++) {
    const fd = openSync(join(d, 'f'), 'w');
    let n = 0;
    const t = now();
    while (n < bytes) n += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - n));
    const written = now() - t;
    fdatasyncSync(fd);
    ts.push({ written, synced: now() - t });
    closeSync(fd);
    rmSync(join(d, 'f'));
  }
  rmSync(d, { recursive: true, force: true });
  // The fastest of 3: these bound what the export can do at best.
  return { writeMs: Math.min(...ts.map((x) => x.written)), writeAndSyncMs: Math.min(...ts.map((x) => x.synced)) };
}

function filesUnder(dir) {
  const out = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...filesUnder(p));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

/**
 * One pass over `files` on a thread per core: open, (fstat,) read to the end, hash,
 * close; the first keeps small files in memory (`arenas`, one a thread), then in a spill
 * per thread (under `work`), and gives where, for the second. Resolves to the time, and
 * for the first what it kept.
 */
async function readPassMs(files, work, keepMax, arenas, kept = null) {
  const cores = availableParallelism();
  const workers = [];
  const up = [];
  for (let k = 0; k < cores; k++) {
    const w = new Worker(new URL(import.meta.url));
    workers.push(w);
    up.push(new Promise((resolve, reject) => {
      w.once('error', reject);
      w.once('message', resolve);
    }));
  }
  await Promise.all(up);
  const shares = workers.map((_, k) => files.filter((_, i) => i % cores === k));
  const t = now();
  const done = workers.map((w, k) => {
    const p = new Promise((resolve, reject) => {
      w.once('error', reject);
      w.once('message', resolve);
    });
    w.postMessage({ files: shares[k], first: kept === null, spill: join(work, `spill-${k}`), keepMax, kept: kept?.[k], arena: arenas[k] });
    return p;
  });
  const results = await Promise.all(done);
  const ms = now() - t;
  await Promise.all(workers.map((w) => w.terminate()));
  return { ms, kept: results };
}

/**
 * The export's two passes over the inputs with nothing else (page cache warm): the first
 * (which also fstats, and keeps small files) and the second, the fastest of 3 each.
 */
async function readPassesMs(dir, work) {
  const { ARENA_MAX_BYTES, KEEP_MAX_FILE } = await import(join(ROOT, 'dist', 'export', 'spill.js'));
  const files = filesUnder(dir);
  const cores = availableParallelism();
  const first = [];
  const second = [];
  for (let k = 0; k < 3; k++) {
    // Fresh memory each time, as each export takes: its first touches are the first pass's.
    const arenas = Array.from({ length: cores }, () => new SharedArrayBuffer(Math.floor(ARENA_MAX_BYTES / cores)));
    const one = await readPassMs(files, work, KEEP_MAX_FILE, arenas);
    first.push(one.ms);
    second.push((await readPassMs(files, work, KEEP_MAX_FILE, arenas, one.kept)).ms);
  }
  return { firstReadPassMs: Math.min(...first), secondReadPassMs: Math.min(...second) };
}

const dirs = process.argv.slice(2);
const work = mkdtempSync(join(process.env.BENCH_DIR || tmpdir(), 'stella-profile-'));
// With transparent huge pages always on, the first-touch figure is per 4 KiB of 2 MiB pages.
const thp = (() => {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
})();
const doc = { cores: availableParallelism(), sha256MBpsPerCore: sha256MBps(), sha512NobleMBps: await sha512NobleMBps(), firstTouchUsPerPage: firstTouchUsPerPage(), transparentHugePages: thp, cases: {} };
try {
  for (const dir of dirs) {
    const collect = [];
    for (let k = 0; k < RUNS; k++) {
      const t = now();
      collectInputs([dir]);
      collect.push(now() - t);
    }
    await exportPhases(dir, join(work, 'warm.tar'));
    const runs = [];
    for (let k = 0; k < RUNS; k++) runs.push(await exportPhases(dir, join(work, 'p.tar')));
    const m = (f) => median(runs.map(f));
    const { bytes, bundleBytes, artifacts } = runs[0];
    const sync = writeAndSyncMs(work, bundleBytes);
    const passes = await readPassesMs(dir, work);
    doc.cases[dir] = {
      artifacts,
      bytes,
      collectMs: median(collect),
      untilHashedMs: m((r) => r.hashEnd),
      writingPassMs: m((r) => r.writeEnd - r.hashEnd),
      syncAndRenameMs: m((r) => r.total - r.writeEnd),
      totalMs: m((r) => r.total),
      minorFaults: m((r) => r.faults),
      // Two SHA-256 passes over the inputs, spread over every core, at the in-memory rate.
      twoHashPassesFloorMs: (2 * bytes) / 1e6 / (doc.sha256MBpsPerCore * doc.cores) * 1000,
      ...passes,
      twoReadPassesMs: passes.firstReadPassMs + passes.secondReadPassMs,
      ...sync,
    };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
