/**
 * SIGINT and SIGTERM end the CLI as usual. Only while an output is being written does a
 * handler stand in the way, to remove the temporary files first: a handler installed for
 * good left a process blocked in a read (a FIFO with no writer given as the trust file)
 * impossible to interrupt.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES } from './helpers/cli.js';
import { spawnSync } from './helpers/spawn.js';
import { HAS_MKFIFO } from './helpers/tools.js';
import { removeTempDirs, tempDir } from './helpers/tmp.js';
import { removeInFlightTemporaries, removeTemporariesOnSignal, trackTemporary, untrackTemporary } from '../src/util/atomic-file.js';

afterAll(removeTempDirs);

/** How the child ended, after `signal` was sent once it had had time to block. */
function endAfter(args: string[], signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const send = setTimeout(() => child.kill(signal), 1000);
    // Not a measurement: a child that ignores the signal is ended here, and the test fails.
    const giveUp = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code, sig) => {
      clearTimeout(send);
      clearTimeout(giveUp);
      resolve({ code, signal: sig, stderr });
    });
  });
}

describe('signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it.skipIf(!HAS_MKFIFO)(`${signal} ends a command blocked reading a FIFO that has no writer`, async () => {
      const fifo = join(tempDir(), 'trust.json');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const r = await endAfter(['verify', join(FIXTURES, 'golden', 'acme.tar'), '--trust', fifo, '--tenant', 'acme'], signal);
      expect(r.signal).toBe(signal);
      expect(r.stderr).toBe('');
    });
  }

  it('a handler is there only while temporaries are in flight, and removes them first', () => {
    const before = process.listeners('SIGTERM');
    const dir = tempDir();
    const tmp = join(dir, '.out.tar.tmp');
    writeFileSync(tmp, 'partial');
    // Not opted in: tracking installs nothing.
    trackTemporary(tmp);
    expect(process.listeners('SIGTERM')).toEqual(before);
    const seen: string[] = [];
    removeTemporariesOnSignal((sig) => seen.push(sig));
    const added = process.listeners('SIGTERM').filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
    untrackTemporary(tmp);
    expect(process.listeners('SIGTERM')).toEqual(before);
    trackTemporary(tmp);
    const handler = process.listeners('SIGTERM').find((l) => !before.includes(l))!;
    // Called directly: emitting the signal would reach the test runner's own handlers too.
    (handler as (s: NodeJS.Signals) => void)('SIGTERM');
    expect(existsSync(tmp)).toBe(false);
    expect(seen).toEqual(['SIGTERM']);
    expect(process.listeners('SIGTERM')).toEqual(before);
    removeInFlightTemporaries();
  });
});
