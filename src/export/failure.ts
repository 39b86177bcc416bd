import { StellaError, type Category } from '../errors.js';
import { InputReadError } from './read-file.js';

/**
 * A job's failure as it crosses from a thread: an input's, one of the tool's own (its code
 * and category, so its exit code survives: a damaged spill is an integrity failure), or
 * any other's message.
 */
export type Failure =
  | { path: string; reason: 'unreadable' | 'changed'; errno?: string }
  | { category: Category; code: string; message: string }
  | { message: string };

/** The Failure a thread sends for `e`. */
export function failureOf(e: unknown): Failure {
  if (e instanceof InputReadError) return { path: e.path, reason: e.reason, errno: e.errno };
  if (e instanceof StellaError) return { category: e.category, code: e.code, message: e.message };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** The error a Failure stands for, on the receiving side. */
export function errorOf(f: Failure): Error {
  if ('path' in f) return new InputReadError(f.path, f.reason, f.errno);
  if ('code' in f) return new StellaError(f.category, f.code, f.message);
  return new Error(f.message);
}
