#!/usr/bin/env node
'use strict';
// Thin entry point: everything lives in the compiled library (dist/).
//
// CommonJS on purpose (bin/package.json): a plain `--help` or `CMD --help` is answered
// from pages rendered at build time (scripts/gen-help.mjs), and starting without the ES
// module loader or commander keeps that under bare `node` plus a few milliseconds. A
// page is used only when stdout is not a terminal (there commander fits help to the
// width) and dist/cli/main.js is the very file the pages came from (same size and
// mtime: a bare tsc rebuild disables them rather than show stale help).
const { readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

function cachedHelp(args) {
  const last = args[args.length - 1];
  if (process.stdout.isTTY || (last !== '--help' && last !== '-h') || args.length > 3) return null;
  const key = [...args.slice(0, -1), '--help'].join(' ');
  if (!/^[a-z -]+$/.test(key)) return null;
  try {
    const dist = join(__dirname, '..', 'dist', 'cli');
    const cache = JSON.parse(readFileSync(join(dist, 'help-cache.json'), 'utf8'));
    const st = statSync(join(dist, 'main.js'));
    if (st.size !== cache.main.size || st.mtimeMs !== cache.main.mtimeMs) return null;
    return Object.hasOwn(cache.pages, key) ? cache.pages[key] : null;
  } catch {
    return null;
  }
}

const help = cachedHelp(process.argv.slice(2));
if (help !== null) {
  process.stdout.on('error', () => undefined); // a reader that went away (| head) is fine
  process.stdout.write(help);
} else {
  import('../dist/cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(process.argv);
  });
}
