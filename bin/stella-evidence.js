#!/usr/bin/env node
// Thin entry point: everything lives in the compiled library (dist/). CommonJS (see
// bin/package.json), like the command-line definitions it loads: `--help` never starts
// the ES module loader. Commands load their modules when they run.
'use strict';
let settled = false;
// Without a top-level await, a command whose promise never settles would let the event
// loop run dry and the process exit 0, as if it had succeeded (an ES module entry exits
// 13 then). Fail closed instead, as main() does for any unexpected error (exit 1). An
// explicit process.exit (signal, closed pipe) has set the exit code and is left alone.
process.on('exit', () => {
  if (settled || process.exitCode !== undefined) return;
  process.stderr.write('stella-evidence: internal error: the command stopped before it finished (please report this)\n');
  process.exitCode = 1;
});
// `[CMD] --help` and `--version` are printed from text stored by the build, without
// loading commander; anything else goes to the program.
const stored = require('../dist/cli/static-help.cjs').staticOutput(process.argv.slice(2));
if (stored !== null) {
  settled = true;
  require('../dist/cli/pipe-guard.cjs').installPipeGuard();
  process.stdout.write(stored);
} else {
  require('../dist/cli/main.cjs')
    .main(process.argv)
    .then((code) => {
      settled = true;
      process.exitCode = code;
    });
}
