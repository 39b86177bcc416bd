import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { fedRuns, FeedMark } from '../../src/util/feed.js';
import { REPO } from '../helpers/cli.js';

const sharedBytes = (n: number) => new Uint8Array(new SharedArrayBuffer(n));

/**
 * A reader on a worker thread (the compiled module: a worker runs JavaScript): it says when
 * it starts reading, takes the feed's runs as they come, and answers with their lengths
 * and the bytes, or the error.
 */
function readerThread(bytes: Uint8Array, shared: SharedArrayBuffer) {
  const feed = pathToFileURL(join(REPO, 'dist', 'util', 'feed.js')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(feed)}).then(({ fedRuns }) => {
      const runs = [];
      const parts = [];
      parentPort.postMessage('reading');
      try {
        for (const run of fedRuns(workerData.bytes, workerData.shared, 5)) {
          runs.push(run.length);
          parts.push(Buffer.from(run).toString('latin1'));
        }
        parentPort.postMessage({ runs, text: parts.join('') });
      } catch (e) {
        parentPort.postMessage({ error: e.message });
      }
    });`;
  const w = new Worker(code, { eval: true, workerData: { bytes, shared } });
  const messages: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  w.on('message', (m) => (waiting.length ? waiting.shift()!(m) : messages.push(m)));
  const next = () => new Promise<unknown>((resolve, reject) => (messages.length ? resolve(messages.shift()) : (waiting.push(resolve), w.once('error', reject))));
  return {
    reading: next(),
    result: next().finally(() => void w.terminate()) as Promise<{ runs: number[]; text: string } | { error: string }>,
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a feed of bytes between threads', () => {
  it('gives a reader on another thread the bytes as they are published, waiting for each run', async () => {
    const text = 'the manifest, made in slices while another thread hashes it';
    const bytes = sharedBytes(text.length);
    const mark = new FeedMark(bytes.length);
    const reader = readerThread(bytes, mark.shared);
    expect(await reader.reading).toBe('reading');
    const marks = [10, 25, 25, 40, text.length];
    for (const end of marks) {
      await pause(30);
      Buffer.from(bytes.buffer).write(text.slice(0, end), 'latin1');
      mark.publish(end);
    }
    const got = (await reader.result) as { runs: number[]; text: string };
    expect(got.text).toBe(text);
    // Read while it was made: in more than one run, each ending where a mark was published
    // (a busy machine may join runs, never split them).
    expect(got.runs.length).toBeGreaterThan(1);
    let end = 0;
    for (const n of got.runs) expect(marks).toContain((end += n));
  });

  it('stops a waiting reader with an error once the maker abandons the feed', async () => {
    const bytes = sharedBytes(100);
    const mark = new FeedMark(bytes.length);
    const reader = readerThread(bytes, mark.shared);
    expect(await reader.reading).toBe('reading');
    mark.publish(30);
    await pause(50);
    mark.abandon();
    expect(await reader.result).toEqual({ error: 'the feed was abandoned' });
    expect(() => mark.publish(40)).toThrow(/abandoned/);
  });

  it('publishes only forward, within the bytes it was made for', () => {
    const mark = new FeedMark(10);
    mark.publish(0);
    mark.publish(4);
    mark.publish(4);
    expect(() => mark.publish(3)).toThrow(/cannot publish 3 of 10 bytes after 4/);
    expect(() => mark.publish(11)).toThrow(/cannot publish 11 of 10/);
    expect(() => mark.publish(5.5)).toThrow(/cannot publish/);
    mark.publish(10);
  });

  it('reads what is published already without waiting, and only bytes in shared memory', () => {
    const bytes = sharedBytes(6);
    bytes.set([1, 2, 3, 4, 5, 6]);
    const mark = new FeedMark(6);
    mark.publish(6);
    expect([...fedRuns(bytes, mark.shared)].map((r) => [...r])).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(() => [...fedRuns(new Uint8Array(6), mark.shared)]).toThrow(/shared memory/);
    // A mark past the bytes the reader holds is refused, not read past.
    const long = new FeedMark(8);
    long.publish(8);
    expect(() => [...fedRuns(bytes, long.shared)]).toThrow(/8 bytes are ready, of 6/);
  });
});
