import { classify, CLASSIFY_MAX_BYTES } from '../evidence/classify.js';
import { writeEntriesSync, type PlacedEntry } from './blob-copy.js';
import { hashFileSync } from './read-file.js';

/**
 * The two kinds of work an export hands out, in batches, to worker threads (or runs
 * inline for small exports). Plain data in, plain data out: they cross thread borders.
 */
export interface HashTask {
  name: string;
  path: string;
}

export interface HashOutcome {
  sha256: string;
  size: number;
  kind: string;
  mediaType: string;
}

export type Job =
  | { kind: 'hash'; files: HashTask[] }
  | { kind: 'write'; fd: number; position: number; mtimeSec: number; entries: PlacedEntry[] };

export type Progress = (bytes: number, files: number) => void;

export function runJob(job: Job, progress: Progress): HashOutcome[] | number {
  if (job.kind === 'write') return writeEntriesSync(job.fd, job.position, job.entries, job.mtimeSec, progress);
  const out: HashOutcome[] = [];
  for (const f of job.files) {
    const r = hashFileSync(f.path, CLASSIFY_MAX_BYTES);
    const c = classify(f.name, r.content);
    out.push({ sha256: r.sha256, size: r.size, kind: c.kind, mediaType: c.mediaType });
    progress(r.size, 1);
  }
  return out;
}
