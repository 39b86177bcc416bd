import { describe, expect, it } from 'vitest';
import { bundleTimeOf, resolveCreatedAt, TAR_TIME_MAX } from '../../src/util/time.js';

const refusedAsTime = expect.objectContaining({ code: 'TIME_INVALID', exitCode: 2 });

describe('a bundle creation time', () => {
  it('is taken from --created-at, then SOURCE_DATE_EPOCH, then the clock, as UTC whole seconds', () => {
    expect(resolveCreatedAt('2026-11-01T02:00:00+02:00', { SOURCE_DATE_EPOCH: '0' })).toBe('2026-11-01T00:00:00Z');
    expect(resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: '1000000000' })).toBe('2001-09-09T01:46:40Z');
    expect(resolveCreatedAt(undefined, {}, () => Date.UTC(2026, 10, 29, 6, 0, 0, 999))).toBe('2026-11-29T06:00:00Z');
  });

  it('holds the whole range a tar header can carry, from 1970 to 2242, and nothing outside it', () => {
    expect(formatBounds()).toEqual(['1970-01-01T00:00:00Z', '2242-03-16T12:56:31Z']);
    // Before 1970 a time has no octal form; after the last second it needs a twelfth digit.
    for (const t of ['1969-12-31T23:59:59Z', '1935-12-24T00:00:00Z', '2242-03-16T12:56:32Z', '9999-12-31T23:59:59Z']) {
      expect(() => resolveCreatedAt(t, {})).toThrow(refusedAsTime);
      expect(() => bundleTimeOf(t)).toThrow(refusedAsTime);
    }
    expect(() => resolveCreatedAt('1969-12-31T23:59:59Z', {})).toThrow(/--created-at 1969-12-31T23:59:59Z is outside the times a bundle can carry: give one from 1970-01-01T00:00:00Z to 2242-03-16T12:56:31Z/);
    // Twelve digits of SOURCE_DATE_EPOCH pass its form, not the range.
    expect(() => resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: '999999999999' })).toThrow(/SOURCE_DATE_EPOCH 999999999999 is outside/);
    expect(resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: String(TAR_TIME_MAX) })).toBe('2242-03-16T12:56:31Z');
    expect(() => resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: String(TAR_TIME_MAX + 1) })).toThrow(refusedAsTime);
    expect(() => resolveCreatedAt(undefined, {}, () => -1000)).toThrow(/the clock now is outside/);
  });

  it('given to the library, must be written as the command line gives it', () => {
    expect(bundleTimeOf('2026-11-01T00:00:00Z')).toBe(Date.UTC(2026, 10, 1) / 1000);
    for (const t of ['2026-11-01T02:00:00+02:00', '2026-11-01t00:00:00z', '2026-11-01T00:00:00.5Z', '2026-11-01', '']) {
      expect(() => bundleTimeOf(t)).toThrow(refusedAsTime);
    }
    expect(() => bundleTimeOf('2026-11-01T02:00:00+02:00')).toThrow(/give 2026-11-01T00:00:00Z/);
  });
});

function formatBounds(): string[] {
  return [resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: '0' }), resolveCreatedAt(undefined, { SOURCE_DATE_EPOCH: String(TAR_TIME_MAX) })];
}
