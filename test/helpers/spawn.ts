/**
 * spawnSync for tests, with a bound that always holds. A synchronous spawn blocks the test
 * worker, so vitest's own timeout cannot end it; node's spawnSync waits without limit
 * unless given a timeout, and then sends SIGTERM, which a child with a SIGTERM handler
 * (the CLI has one) survives while its main thread is busy. A child that never exits
 * would hold the whole suite until CI's own limit, with nothing printed. SIGKILL cannot
 * be caught: the spawn returns, the result says so, and the test fails with it.
 */
import {
  spawnSync as nodeSpawnSync,
  type SpawnSyncOptions,
  type SpawnSyncOptionsWithBufferEncoding,
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncReturns,
} from 'node:child_process';

export const CHILD_TIMEOUT_MS = 90_000;

export function spawnSync(command: string, args: readonly string[], options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>;
export function spawnSync(command: string, args: readonly string[], options?: SpawnSyncOptionsWithBufferEncoding): SpawnSyncReturns<Buffer>;
export function spawnSync(command: string, args: readonly string[], options: SpawnSyncOptions = {}): SpawnSyncReturns<string | Buffer> {
  // A timeout of 0 or undefined would mean none at all to node.
  return nodeSpawnSync(command, args, { ...options, timeout: options.timeout || CHILD_TIMEOUT_MS, killSignal: 'SIGKILL' });
}
