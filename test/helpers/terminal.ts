/**
 * Run the CLI on a pseudo-terminal, as an operator's shell would, through util-linux
 * `script`. Progress bars are drawn only when stderr is a terminal, so these runs are the
 * only way to see one; either stream can be sent to a file instead, to tell them apart.
 */
import { spawnSync } from './spawn.js';
import { BIN, REPO } from './cli.js';

export const HAS_SCRIPT = spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' }).status === 0;

const sh = (args: readonly string[]) => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

export interface TerminalOptions {
  /** Added to the environment; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Send stdout to this file: then only stderr is on the terminal. */
  stdoutTo?: string;
  /** Send stderr to this file: then only stdout is on the terminal. */
  stderrTo?: string;
}

/**
 * `stdout` of the result is everything the terminal showed (stdout and stderr both, unless
 * redirected; line ends arrive as \r\n); `status` is the CLI's exit code.
 */
export function onTerminal(args: readonly string[], o: TerminalOptions = {}): { status: number | null; stdout: string } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  let cmd = sh([process.execPath, BIN, ...args]);
  if (o.stdoutTo !== undefined) cmd += ` >${sh([o.stdoutTo])}`;
  if (o.stderrTo !== undefined) cmd += ` 2>${sh([o.stderrTo])}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, env, encoding: 'utf8', input: '', timeout: 90_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout };
}
