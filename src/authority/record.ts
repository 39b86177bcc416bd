import type { AuthContext } from './context.js';

/**
 * What a manifest (or an audit event) records about the authorization behind it: who
 * vouched and for which scopes, never the token itself, which is a bearer credential.
 */
export type Authorization =
  | { token: false }
  | { token: true; issuer: string | null; subject: string; jti: string | null; scopes: string[] };

export function authorizationOf(ctx: AuthContext): Authorization {
  if (!ctx.token) return { token: false };
  return { token: true, issuer: ctx.token.issuer, subject: ctx.token.subject, jti: ctx.token.jti, scopes: [...ctx.scopes] };
}

/** One line for people: what a reviewer reads in verify output. */
export function describeAuthorization(a: Authorization | null): string {
  if (a === null) return 'not recorded (bundle predates Authority tokens)';
  if (!a.token) return 'no token was presented (tenant named on the command line)';
  const iss = a.issuer === null ? 'no issuer' : `issuer ${a.issuer}`;
  const jti = a.jti === null ? 'no token id' : `token id ${a.jti}`;
  return `token of ${a.subject} (${iss}, ${jti}), scopes ${a.scopes.join(' ')}`;
}
