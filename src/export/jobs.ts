import { classify, CLASSIFY_MAX_BYTES, classifyWantsContent } from '../evidence/classify.js';
import { writeEntriesSync, type PlacedEntry } from './blob-copy.js';
import { hashFileSync } from './read-file.js';

/**
 * The kinds of work an export hands out, in batches, to worker threads (or runs inline
 * for small exports). Plain data in, plain data out: they cross thread borders.
 */
export interface HashTask {
  name: string;
  path: string;
  viaLink?: boolean;
}

export interface HashOutcome {
  sha256: string;
  size: number;
  kind: string;
  mediaType: string;
}

export type Job =
  | { kind: 'hash'; files: HashTask[] }
  | { kind: 'write'; fd: number; position: number; mtimeSec: number; entries: PlacedEntry[] }
  // Ed25519 with a pure-JS SHA-512 over a large manifest takes about a second: on a
  // pool thread it runs while the other threads write the blobs. The pool moves
  // `message` to the thread when it can: the caller must not read it afterwards.
  | { kind: 'sign'; message: Uint8Array; seeds: Uint8Array[] };

export type Progress = (bytes: number, files: number) => void;

export async function runJob(job: Job, progress: Progress): Promise<HashOutcome[] | Uint8Array[] | number> {
  if (job.kind === 'write') return writeEntriesSync(job.fd, job.position, job.entries, job.mtimeSec, progress);
  if (job.kind === 'sign') {
    // Loaded on first use: a third of a worker's start-up otherwise, for one job.
    const { sign } = await import('../crypto/ed25519.js');
    return job.seeds.map((seed) => sign(job.message, seed));
  }
  const out: HashOutcome[] = [];
  for (const f of job.files) {
    const r = hashFileSync(f.path, CLASSIFY_MAX_BYTES, (head) => classifyWantsContent(f.name, head), f.viaLink);
    const c = classify(f.name, r.content);
    out.push({ sha256: r.sha256, size: r.size, kind: c.kind, mediaType: c.mediaType });
    progress(r.size, 1);
  }
  return out;
}
