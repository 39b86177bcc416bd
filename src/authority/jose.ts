import type * as Jose from 'jose';

/**
 * jose is loaded on first use, not at start-up: it is some 45 modules, and most runs of
 * a command that checks authorization present no token and so never need it. One
 * promise serves every caller, so the module instance (and the classes `instanceof`
 * checks test against) is always the same one.
 */
let loading: Promise<typeof Jose> | undefined;

export function loadJose(): Promise<typeof Jose> {
  return (loading ??= import('jose'));
}
