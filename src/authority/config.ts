import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { JsonSyntaxError, parseStrictJsonBytes } from '../json/strict-parse.js';
import { schemaProblem } from '../manifest/schemas.js';

/** How tokens are checked; every field is optional (schemas/config.schema.json). */
export interface AuthorityConfig {
  /** Absolute path of the JWKS file (a relative path in the file is resolved against the file's directory). */
  jwks?: string;
  issuer?: string;
  audience?: string;
  clockSkewSeconds?: number;
}

export interface Config {
  authority: AuthorityConfig;
  requireToken: boolean;
  /** The file the configuration came from, or null when none was found. */
  source: string | null;
}

export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

interface ConfigFile {
  authority?: AuthorityConfig;
  requireToken?: boolean;
}

/**
 * Which config file applies. An explicitly named file (flag or variable) must exist;
 * the per-user default is optional, so a fresh machine works without one.
 */
export function configLocation(flag: string | undefined, env: NodeJS.ProcessEnv): { path: string; explicit: boolean; where: string } {
  if (flag !== undefined) return { path: flag, explicit: true, where: '--config' };
  const fromEnv = env.STELLA_EVIDENCE_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, explicit: true, where: 'STELLA_EVIDENCE_CONFIG' };
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return { path: join(base, 'stella-evidence', 'config.json'), explicit: false, where: 'the default location' };
}

export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv): Config {
  const loc = configLocation(flag, env);
  let bytes: Buffer;
  try {
    bytes = readFileSync(loc.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !loc.explicit) return { authority: {}, requireToken: false, source: null };
    throw usageError(
      'CONFIG_UNREADABLE',
      code === 'ENOENT' ? `config file ${loc.path} (from ${loc.where}) does not exist` : `cannot read config file ${loc.path} (${code})`,
    );
  }
  return parseConfig(bytes, loc.path);
}

export function parseConfig(bytes: Uint8Array, path: string): Config {
  const bad = (why: string) => usageError('CONFIG_INVALID', `invalid config file ${path}: ${why}`);
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes);
  } catch (e) {
    throw bad(e instanceof JsonSyntaxError ? e.message : 'not JSON');
  }
  const problem = schemaProblem('config', doc);
  if (problem) throw bad(problem);
  const file = doc as ConfigFile;
  const authority: AuthorityConfig = { ...file.authority };
  if (authority.jwks !== undefined) authority.jwks = resolve(dirname(resolve(path)), authority.jwks);
  return { authority, requireToken: file.requireToken ?? false, source: path };
}
