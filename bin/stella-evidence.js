#!/usr/bin/env node
// Thin entry point: everything lives in the compiled library (dist/). Plain `--help`
// pages come from a build-time cache when valid (src/cli/help-cache.ts), for a fast start.
import { cachedHelp } from '../dist/cli/help-cache.js';

const help = cachedHelp(process.argv.slice(2));
if (help !== null) {
  process.stdout.on('error', () => undefined); // a reader that went away (| head) is fine
  process.stdout.write(help);
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv);
}
