import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { usageError } from '../errors.js';
import { writeAll } from './write-all.js';

/**
 * A file that appears under its final name only when complete: written beside the target
 * (same file system, so rename is atomic), fsynced, then renamed. Until commit() the
 * target is untouched; abort() removes the temporary file. Temporary files are tracked so
 * that an interrupted process can clean up whatever is in flight.
 */
const inFlight = new Set<string>();

export function removeInFlightTemporaries(): void {
  for (const p of inFlight) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* already gone */
    }
  }
  inFlight.clear();
  cleanupHandlers();
}

/** Register a temporary file or staging directory for removal on a signal. */
export function trackTemporary(path: string): void {
  inFlight.add(path);
  cleanupHandlers();
}

export function untrackTemporary(path: string): void {
  inFlight.delete(path);
  cleanupHandlers();
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let afterCleanup: ((signal: NodeJS.Signals) => void) | null = null;
let installed = false;

const onSignal = (signal: NodeJS.Signals): void => {
  const then = afterCleanup;
  removeInFlightTemporaries();
  then?.(signal);
};

/**
 * Opt in (the CLI does; a library user keeps its own signal handling): a SIGINT or
 * SIGTERM that arrives while temporaries are in flight removes them, then calls `then`,
 * which is to end the process. The handlers are there only while something is in flight
 * (and briefly after). A handler replaces the default of ending the process, and it can
 * run only when the main thread is free: installed for good, it left a process blocked
 * in a read (a FIFO with no writer given as a trust file) impossible to interrupt.
 */
export function removeTemporariesOnSignal(then: (signal: NodeJS.Signals) => void): void {
  afterCleanup = then;
  cleanupHandlers();
}

// Handlers go a little after the last temporary, not at once: a store ingest makes and
// commits one per file, and adding and removing them took about 50 µs each time here.
const LINGER_MS = 100;
let removal: NodeJS.Timeout | null = null;

function cleanupHandlers(): void {
  if (afterCleanup !== null && inFlight.size > 0) {
    if (removal) clearTimeout(removal);
    removal = null;
    if (!installed) setHandlers(true);
  } else if (installed && !removal) {
    removal = setTimeout(() => {
      removal = null;
      if (inFlight.size === 0) setHandlers(false);
    }, LINGER_MS).unref();
  }
}

function setHandlers(on: boolean): void {
  installed = on;
  for (const sig of SIGNALS) {
    if (on) process.on(sig, onSignal);
    else process.off(sig, onSignal);
  }
}

/** Where the output cannot be created at all: the user's to fix (exit 2), not a bug of ours. */
function unwritable(target: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(target);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return usageError('OUTPUT_DIR_MISSING', `cannot write ${target}: the directory ${dir} does not exist; create it or choose another path`);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return usageError('OUTPUT_UNWRITABLE', `cannot write ${target}: the directory ${dir} is not writable (${code}); choose another path`);
  }
  return e;
}

export class AtomicFile {
  readonly tempPath: string;
  readonly fd: number;
  private done = false;

  constructor(readonly target: string, readonly mode = 0o644, readonly overwrite = false) {
    this.tempPath = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      this.fd = openSync(this.tempPath, 'wx', mode);
    } catch (e) {
      throw unwritable(target, e);
    }
    trackTemporary(this.tempPath);
  }

  write(buf: Uint8Array): void {
    writeAll(this.fd, buf);
  }

  commit(): void {
    if (this.done) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    if (this.overwrite) {
      renameSync(this.tempPath, this.target);
    } else {
      // link() fails if the target appeared meanwhile, so we never clobber a file that a
      // concurrent process created after our existence check.
      try {
        linkSync(this.tempPath, this.target);
      } catch (e) {
        unlinkSync(this.tempPath);
        untrackTemporary(this.tempPath);
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw usageError('OUTPUT_EXISTS', `output ${this.target} already exists: choose another path or pass --force`);
        }
        throw e;
      }
      unlinkSync(this.tempPath);
    }
    untrackTemporary(this.tempPath);
    fsyncDir(dirname(this.target));
  }

  abort(): void {
    if (!this.done) {
      this.done = true;
      try {
        closeSync(this.fd);
      } catch {
        /* ignore */
      }
    }
    rmSync(this.tempPath, { force: true });
    untrackTemporary(this.tempPath);
  }
}

/** Make a rename or a new entry in `dir` durable. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems refuse fsync on directories; the rename is still atomic */
  }
}

/** Write small content atomically (keys, trust files). */
export function writeFileAtomic(target: string, data: Uint8Array | string, opts: { mode?: number; overwrite?: boolean } = {}): void {
  const f = new AtomicFile(target, opts.mode ?? 0o644, opts.overwrite ?? false);
  try {
    f.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}
