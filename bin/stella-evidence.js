#!/usr/bin/env node
// Thin entry point: everything lives in the compiled library (dist/). CommonJS (see
// bin/package.json), like the command-line definitions it loads: `--help` never starts
// the ES module loader. Commands load their modules when they run.
'use strict';
require('../dist/cli/main.cjs')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
