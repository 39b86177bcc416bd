import { parentPort, workerData } from 'node:worker_threads';
import { failureOf } from './failure.js';
import { runJob, type Job } from './jobs.js';

/** Worker thread of the export pool: runs jobs, counts progress into shared memory. */
const { counters, slot } = workerData as { counters: SharedArrayBuffer; slot: number };
const tally = new Float64Array(counters);
const progress = (bytes: number, files: number): void => {
  tally[2 * slot] = tally[2 * slot]! + bytes;
  tally[2 * slot + 1] = tally[2 * slot + 1]! + files;
};

parentPort!.on('message', async ({ id, job }: { id: number; job: Job }) => {
  try {
    parentPort!.postMessage({ id, result: await runJob(job, progress) });
  } catch (e) {
    parentPort!.postMessage({ id, error: failureOf(e) });
  }
});
