/**
 * Event time: parsing the accepted forms and judging whether a time is believable.
 * The reference is the time JetStream stored the message, never the wall clock, so a
 * replay judges every event exactly as the first run did.
 */
import type { Reason } from '../../schemas/types.js';

/** Times before 2000 or from 2100 on are taken for a producer's bug (e.g. epoch seconds). */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);
export const LATEST_EVENT_TIME = Date.UTC(2100, 0, 1);

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch ms for a schema-valid timestamp (ISO-8601 with zone, or epoch ms), or a reason.
 * Fractions finer than a millisecond are truncated.
 */
export function parseEventTime(
  raw: string | number | undefined,
  storedAt: number,
  maxFutureSkewMs: number,
): number | Reason {
  if (raw === undefined) return storedAt;
  const ms = typeof raw === 'number' ? raw : parseIso(raw);
  if (ms === undefined) {
    return {
      code: 'invalid_timestamp',
      message: `timestamp ${JSON.stringify(raw)} is not a real calendar time`,
      path: '/timestamp',
      expected:
        'an existing date and time (month 01–12, a day that month has, hour 00–23, minute and second 00–59, offset ≤ 18:00)',
      actual: raw,
    };
  }
  if (ms < EARLIEST_EVENT_TIME || ms > LATEST_EVENT_TIME) {
    return {
      code: 'invalid_timestamp',
      message: `timestamp ${JSON.stringify(raw)} is outside 2000-01-01 … 2100-01-01`,
      path: '/timestamp',
      expected:
        'a time between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z (epoch milliseconds, not seconds)',
      actual: raw,
    };
  }
  if (ms > storedAt + maxFutureSkewMs) {
    return {
      code: 'timestamp_in_future',
      message: `timestamp is ${Math.round((ms - storedAt) / 1000)} s after the message was received; at most ${maxFutureSkewMs / 1000} s is allowed`,
      path: '/timestamp',
      expected: `a time no later than ${new Date(storedAt + maxFutureSkewMs).toISOString()}`,
      actual: raw,
    };
  }
  return ms;
}

function parseIso(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec = '0', frac = '', zone, sign, oh, om] = m;
  const year = Number(y),
    month = Number(mo),
    day = Number(d);
  const hour = Number(h),
    minute = Number(mi),
    second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (zone !== 'Z') {
    const ohN = Number(oh),
      omN = Number(om);
    if (ohN > 18 || omN > 59) return undefined;
    offsetMin = (sign === '-' ? -1 : 1) * (ohN * 60 + omN);
  }
  const ms = Number((frac + '000').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
