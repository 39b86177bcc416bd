#!/usr/bin/env node
// Thin entry point: everything lives in the compiled library (dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
