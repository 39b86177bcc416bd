import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * Where the embedded store lives: --store DIR, else STELLA_EVIDENCE_STORE, else
 * $XDG_DATA_HOME/stella-evidence/store (a relative XDG_DATA_HOME is ignored, as the XDG
 * specification asks), else ~/.local/share/stella-evidence/store.
 */
export function resolveStoreDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return resolve(flag);
  if (env.STELLA_EVIDENCE_STORE) return resolve(env.STELLA_EVIDENCE_STORE);
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'stella-evidence', 'store');
}
