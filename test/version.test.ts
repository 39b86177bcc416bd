import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOOL_NAME, TOOL_VERSION } from '../src/version.js';
import { mustRun } from './helpers/cli.js';

describe('version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

  it('src/version.ts matches package.json, so signed manifests name the released version', () => {
    expect(TOOL_VERSION).toBe(pkg.version);
    expect(TOOL_NAME).toBe(pkg.name);
  });

  it('--version (read from package.json by the CommonJS entry) prints the same version', () => {
    expect(mustRun(['--version']).stdout.trim()).toBe(TOOL_VERSION);
  });
});
