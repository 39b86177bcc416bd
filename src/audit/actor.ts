import { userInfo } from 'node:os';
import { usageError } from '../errors.js';

/**
 * Who is acting: --actor, else STELLA_EVIDENCE_ACTOR, else the OS user. It is recorded as
 * given (an audit trail of an offline tool can name, not authenticate; issue 4 binds it to
 * a token subject).
 */
export function resolveActor(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const given = flag ?? (env.STELLA_EVIDENCE_ACTOR === '' ? undefined : env.STELLA_EVIDENCE_ACTOR);
  const where = flag !== undefined ? '--actor' : 'STELLA_EVIDENCE_ACTOR';
  if (given !== undefined) return checkActor(given, where);
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    throw usageError('ACTOR_REQUIRED', 'cannot tell who is acting (no OS user name): pass --actor NAME or set STELLA_EVIDENCE_ACTOR');
  }
  return checkActor(name, 'the OS user name');
}

function checkActor(s: string, where: string): string {
  // eslint-disable-next-line no-control-regex
  if (s.length === 0 || s.length > 256 || /[\u0000-\u001f\u007f-\u009f]/.test(s)) {
    throw usageError('ACTOR_INVALID', `invalid actor ${JSON.stringify(s)} in ${where}: give 1 to 256 printable characters`);
  }
  return s;
}
