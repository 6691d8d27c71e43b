import { describe, expect, it } from 'vitest';
import { parseEventTime } from './event-time.js';

const STORED = Date.UTC(2026, 10, 20, 12);
const parse = (raw: string | number | undefined) => parseEventTime(raw, STORED, 300_000);

describe('parseEventTime', () => {
  it('reads ISO-8601 with Z or an offset, and epoch milliseconds', () => {
    expect(parse('2026-11-20T10:00:00Z')).toBe(Date.UTC(2026, 10, 20, 10));
    expect(parse('2026-11-20T07:00:00-03:00')).toBe(Date.UTC(2026, 10, 20, 10));
    expect(parse('2026-11-20T10:00Z')).toBe(Date.UTC(2026, 10, 20, 10));
    expect(parse('2026-11-20T10:00:00.5+01:00')).toBe(Date.UTC(2026, 10, 20, 9, 0, 0, 500));
    expect(parse(1763632800000)).toBe(1763632800000);
  });

  it('stands in the stored time for a missing one', () => {
    expect(parse(undefined)).toBe(STORED);
  });

  it('refuses calendar impossibilities', () => {
    for (const bad of [
      '2026-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:00+19:00',
    ]) {
      expect(parse(bad), bad).toMatchObject({ code: 'invalid_timestamp' });
    }
    expect(parse('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29)); // a leap year has it
  });

  it('the future bound is inclusive at the allowed skew', () => {
    expect(parse(STORED + 300_000)).toBe(STORED + 300_000);
    expect(parse(STORED + 300_001)).toMatchObject({ code: 'timestamp_in_future' });
  });
});
