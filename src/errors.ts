/**
 * One table of failure categories for every command. Each category maps to exactly
 * one exit code, so scripts can branch on the code without parsing messages.
 */
export const ExitCode = {
  ok: 0,
  integrity: 1,
  usage: 2,
  trust: 3,
  tenant: 4,
} as const;

export type Category = Exclude<keyof typeof ExitCode, 'ok'>;

/** When several checks fail, the first category in this order decides the exit code. */
export const CATEGORY_PRECEDENCE: readonly Category[] = ['integrity', 'trust', 'tenant', 'usage'];

/**
 * An expected failure: the CLI prints its message on one line, never a stack trace.
 * `code` is a stable machine-readable identifier (also used in JSON reports).
 */
export class StellaError extends Error {
  readonly category: Category;
  readonly code: string;
  constructor(category: Category, code: string, message: string) {
    super(message);
    this.name = 'StellaError';
    this.category = category;
    this.code = code;
  }
  get exitCode(): number {
    return ExitCode[this.category];
  }
}

export const usageError = (code: string, message: string): StellaError =>
  new StellaError('usage', code, message);
export const integrityError = (code: string, message: string): StellaError =>
  new StellaError('integrity', code, message);
export const trustError = (code: string, message: string): StellaError =>
  new StellaError('trust', code, message);
export const tenantError = (code: string, message: string): StellaError =>
  new StellaError('tenant', code, message);

export function exitCodeFor(categories: Iterable<Category>): number {
  const seen = new Set(categories);
  for (const c of CATEGORY_PRECEDENCE) if (seen.has(c)) return ExitCode[c];
  return ExitCode.ok;
}
