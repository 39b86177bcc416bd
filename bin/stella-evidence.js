#!/usr/bin/env node
// Thin entry point: everything lives in the compiled library (dist/). Commands load their
// modules lazily, so `--help` stays close to bare `node` start-up.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
