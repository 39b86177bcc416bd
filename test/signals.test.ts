/**
 * SIGINT and SIGTERM end the CLI as usual. Only while an output is being written (and
 * 100 ms after) does a handler stand in the way, to remove the temporary files first: a handler installed for
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

  it('a handler is there only while temporaries are in flight (and briefly after), and removes them first', async () => {
    const before = process.listeners('SIGTERM');
    const ours = () => process.listeners('SIGTERM').filter((l) => !before.includes(l));
    const settle = () => new Promise((r) => setTimeout(r, 300)); // past the handlers' 100 ms linger
    const dir = tempDir();
    const tmp = join(dir, '.out.tar.tmp');
    writeFileSync(tmp, 'partial');
    // Not opted in: tracking installs nothing.
    trackTemporary(tmp);
    expect(ours()).toHaveLength(0);
    const seen: string[] = [];
    removeTemporariesOnSignal((sig) => seen.push(sig));
    expect(ours()).toHaveLength(1);
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
    // One temporary after another (a store ingest): the same handler stays, then goes.
    untrackTemporary(tmp);
    trackTemporary(tmp);
    untrackTemporary(tmp);
    expect(ours()).toHaveLength(1);
    await settle();
    expect(ours()).toHaveLength(0);
    trackTemporary(tmp);
    const [handler] = ours();
    expect(handler).toBeDefined();
    // Called directly: emitting the signal would reach the test runner's own handlers too.
    (handler as (s: NodeJS.Signals) => void)('SIGTERM');
    expect(existsSync(tmp)).toBe(false);
    expect(seen).toEqual(['SIGTERM']);
    await settle();
    expect(ours()).toHaveLength(0);
    removeInFlightTemporaries();
  });
});
