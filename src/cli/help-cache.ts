import { readFileSync, statSync } from 'node:fs';

/**
 * Help pages rendered at build time (scripts/gen-help.mjs), so `--help` and `CMD --help`
 * answer without loading commander and every command definition: about 80 ms of a
 * 180 ms cold start here. A page is used only when it was rendered from the main.js now
 * on disk (same size and mtime: a bare `tsc` rebuild disables the cache rather than
 * showing stale help) and stdout is not a terminal (on a terminal commander lays help
 * out for its width). Anything else returns null and the real parser runs.
 */
interface HelpCache {
  main: { size: number; mtimeMs: number };
  pages: Record<string, string>;
}

export const HELP_CACHE = new URL('./help-cache.json', import.meta.url);
const MAIN = new URL('./main.js', import.meta.url);

export function cachedHelp(args: readonly string[], stdoutIsTTY = process.stdout.isTTY === true): string | null {
  const last = args[args.length - 1];
  if (stdoutIsTTY || (last !== '--help' && last !== '-h') || args.length > 3) return null;
  const key = [...args.slice(0, -1), '--help'].join(' ');
  if (!/^[a-z -]+$/.test(key)) return null;
  try {
    const cache = JSON.parse(readFileSync(HELP_CACHE, 'utf8')) as HelpCache;
    const st = statSync(MAIN);
    if (st.size !== cache.main.size || st.mtimeMs !== cache.main.mtimeMs) return null;
    return Object.hasOwn(cache.pages, key) ? cache.pages[key]! : null;
  } catch {
    return null;
  }
}
