import { describe, expect, it } from 'vitest';
import { Calendar, DAY_MS, previousDays, windowDays } from './calendar.js';

const H = 3_600_000;
const day = Calendar.fromIsoDate;

describe('Calendar', () => {
  it('places instants in local days of America/Sao_Paulo (UTC−3)', () => {
    const c = new Calendar('America/Sao_Paulo');
    expect(c.dayStart(day('2026-11-20'))).toBe(Date.parse('2026-11-20T03:00:00Z'));
    expect(c.dayOf(Date.parse('2026-11-20T02:59:59.999Z'))).toBe(day('2026-11-19'));
    expect(c.dayOf(Date.parse('2026-11-20T03:00:00Z'))).toBe(day('2026-11-20'));
  });

  it('gives 23- and 25-hour days across the Europe/Lisbon daylight-saving changes', () => {
    const c = new Calendar('Europe/Lisbon');
    const spring = day('2026-03-29');
    const autumn = day('2026-10-25');
    expect(c.dayStart(spring + 1) - c.dayStart(spring)).toBe(23 * H);
    expect(c.dayStart(autumn + 1) - c.dayStart(autumn)).toBe(25 * H);
    // A 7-day window over each change: 167 and 169 hours.
    const springWin = windowDays(day('2026-04-01'), 7);
    expect(c.dayStart(springWin.to) - c.dayStart(springWin.from)).toBe(167 * H);
    const autumnWin = windowDays(day('2026-10-28'), 7);
    expect(c.dayStart(autumnWin.to) - c.dayStart(autumnWin.from)).toBe(169 * H);
    // The local midnight after the change is 23:00 UTC the day before.
    expect(c.dayStart(day('2026-04-01'))).toBe(Date.parse('2026-03-31T23:00:00Z'));
    expect(c.dayOf(Date.parse('2026-03-31T22:59:59.999Z'))).toBe(day('2026-03-31'));
  });

  it('starts a day after a skipped midnight (Sao Paulo DST of 2018 began at 00:00)', () => {
    const c = new Calendar('America/Sao_Paulo');
    expect(c.dayStart(day('2018-11-04'))).toBe(Date.parse('2018-11-04T03:00:00Z')); // 01:00 −02
    expect(c.dayOf(Date.parse('2018-11-04T02:59:59.999Z'))).toBe(day('2018-11-03'));
  });

  it('finds ISO weeks (Monday) and calendar months, across month ends and leap days', () => {
    expect(Calendar.weekday(day('2026-11-23'))).toBe(1);
    expect(Calendar.weekStart(day('2026-11-22'))).toBe(day('2026-11-16'));
    expect(Calendar.weekStart(day('2026-11-23'))).toBe(day('2026-11-23'));
    expect(Calendar.monthStart(day('2026-01-31'))).toBe(day('2026-01-01'));
    expect(Calendar.nextMonthStart(day('2026-01-31'))).toBe(day('2026-02-01'));
    expect(Calendar.nextMonthStart(day('2028-02-29'))).toBe(day('2028-03-01'));
    expect(Calendar.nextMonthStart(day('2026-12-31'))).toBe(day('2027-01-01'));
  });

  it('has the last 30 days before March 1st begin on January 30th (28-day February)', () => {
    const w = windowDays(day('2026-03-01'), 30);
    expect(Calendar.isoDate(w.from)).toBe('2026-01-30');
    expect(Calendar.isoDate(w.to - 1)).toBe('2026-02-28');
    const p = previousDays(day('2026-03-01'), 30);
    expect([Calendar.isoDate(p.from), Calendar.isoDate(p.to - 1)]).toEqual([
      '2025-12-31',
      '2026-01-29',
    ]);
  });

  it('refuses an unknown zone', () => {
    expect(() => new Calendar('Mars/Olympus')).toThrow(/unknown time zone/);
  });

  it('is fast enough once days are cached (sanity: consistent with dayStart)', () => {
    const c = new Calendar('America/Sao_Paulo');
    for (
      let t = Date.parse('2026-01-01T00:00:00Z');
      t < Date.parse('2026-03-01T00:00:00Z');
      t += 7 * H
    ) {
      const d = c.dayOf(t);
      expect(t >= c.dayStart(d) && t < c.dayStart(d + 1)).toBe(true);
    }
    expect(DAY_MS).toBe(86_400_000);
  });
});
