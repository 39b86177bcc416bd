import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A module a child process imports first (`--import URL`): it registers a resolution hook
 * that appends every resolved module URL containing `urlPart` to the file named by the
 * environment variable `logVar`. Returns the URL to import.
 */
export function writeResolveLogger(dir: string, urlPart: string, logVar: string): string {
  // The hooks run on their own thread; they get the log file's name at registration.
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    [
      "import { appendFileSync } from 'node:fs';",
      'let log;',
      'export function initialize(data) { log = data.log; }',
      'export async function resolve(specifier, context, next) {',
      '  const r = await next(specifier, context);',
      `  if (r.url.includes(${JSON.stringify(urlPart)})) appendFileSync(log, r.url + '\\n');`,
      '  return r;',
      '}',
    ].join('\n'),
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    ["import { register } from 'node:module';", `register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: process.env[${JSON.stringify(logVar)}] } });`].join('\n'),
  );
  return pathToFileURL(register).href;
}
