import { usageError } from '../errors.js';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parse an RFC 3339 time and normalise it to UTC whole seconds (`2026-11-01T00:00:00Z`).
 * Fractional seconds are refused rather than truncated: silently dropping precision
 * would make two different requests produce the same signed bundle.
 */
export function parseRfc3339(s: string, flag = '--created-at', allowFraction = false): string {
  const m = RFC3339.exec(s);
  if (!m) {
    throw usageError('TIME_INVALID', `invalid time ${JSON.stringify(s)} in ${flag}: use RFC 3339, e.g. 2026-11-01T00:00:00Z`);
  }
  if (m[7] && !allowFraction) {
    throw usageError('TIME_INVALID', `fractional seconds are not allowed in ${flag} (${s}): give whole seconds`);
  }
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) {
    throw usageError('TIME_INVALID', `invalid time ${JSON.stringify(s)} in ${flag}: a field is out of range`);
  }
  const ms = Date.parse(s.toUpperCase());
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (Number.isNaN(ms) || check.getUTCDate() !== d) {
    throw usageError('TIME_INVALID', `invalid time ${JSON.stringify(s)} in ${flag}: no such date`);
  }
  return formatUtc(Math.floor(ms / 1000));
}

export function formatUtc(epochSeconds: number): string {
  const iso = new Date(epochSeconds * 1000).toISOString(); // always UTC, with .000
  return iso.slice(0, 19) + 'Z';
}

export function epochOf(rfc3339Utc: string): number {
  return Math.floor(Date.parse(rfc3339Utc) / 1000);
}

/**
 * The last second a tar header's eleven octal digits of time hold (2242-03-16T12:56:31Z).
 * Every entry of a bundle carries its creation time there, and an earlier time than 1970
 * has no octal form at all.
 */
export const TAR_TIME_MAX = 8 ** 11 - 1;

function inTarRange(epochSeconds: number, shown: string, what: string): number {
  if (!(epochSeconds >= 0 && epochSeconds <= TAR_TIME_MAX)) {
    throw usageError('TIME_INVALID', `${what} ${shown} is outside the times a bundle can carry: give one from ${formatUtc(0)} to ${formatUtc(TAR_TIME_MAX)}`);
  }
  return epochSeconds;
}

/** The creation time: --created-at, then SOURCE_DATE_EPOCH, then the clock. */
export function resolveCreatedAt(flag: string | undefined, env: NodeJS.ProcessEnv, now: () => number = Date.now): string {
  if (flag !== undefined) {
    const utc = parseRfc3339(flag);
    inTarRange(epochOf(utc), flag, '--created-at');
    return utc;
  }
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d{1,12}$/.test(sde)) {
      throw usageError('TIME_INVALID', `invalid SOURCE_DATE_EPOCH ${JSON.stringify(sde)}: give whole seconds since 1970`);
    }
    return formatUtc(inTarRange(Number(sde), sde, 'SOURCE_DATE_EPOCH'));
  }
  return formatUtc(inTarRange(Math.floor(now() / 1000), 'now', 'the clock'));
}

/**
 * A bundle's creation time as a library caller gives it, checked as the command line's
 * is: RFC 3339 in UTC whole seconds (as resolveCreatedAt gives it: the same instant
 * written another way would make another bundle), within what a tar header holds.
 * Returns it in seconds.
 */
export function bundleTimeOf(createdAt: string): number {
  const utc = parseRfc3339(createdAt, 'createdAt');
  if (utc !== createdAt) throw usageError('TIME_INVALID', `createdAt ${JSON.stringify(createdAt)} is not written as UTC whole seconds: give ${utc}`);
  return inTarRange(epochOf(utc), createdAt, 'createdAt');
}
