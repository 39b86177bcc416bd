/**
 * The bound on every synchronous child of the suite (test/helpers/spawn.ts). node's own
 * spawnSync, given a timeout, sends SIGTERM and then waits: a child whose SIGTERM handler
 * never gets to run, as here, would hold the test worker for ever.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from '../helpers/spawn.js';

describe('spawnSync in tests', () => {
  it('ends a child that outlives its timeout although it handles SIGTERM', () => {
    // Busy for 5 s, then it exits 0 by itself: under SIGTERM this spawn would return that.
    const busy = "process.on('SIGTERM', () => {}); const end = Date.now() + 5000; while (Date.now() < end);";
    const r = spawnSync(process.execPath, ['-e', busy], { timeout: 500 });
    expect(r.signal).toBe('SIGKILL');
    expect(r.status).toBeNull();
    expect((r.error as NodeJS.ErrnoException | undefined)?.code).toBe('ETIMEDOUT');
  });

  it('passes the options and the output through', () => {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync(0, "utf8").toUpperCase())'], { input: 'abc', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ABC');
  });
});
