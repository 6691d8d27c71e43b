/**
 * Calendar days in a configured time zone, as day numbers (days since 1970-01-01 on the
 * local calendar). Windows are whole local days, so across a daylight-saving change a
 * 7-day window is 167 or 169 hours, and "midnight" is the zone's midnight.
 *
 * luxon does the zone arithmetic once per day; the start of each day is then cached, so
 * placing an event in its day costs two map lookups.
 */
import { DateTime, IANAZone } from 'luxon';

export const DAY_MS = 86_400_000;

export class Calendar {
  private readonly starts = new Map<number, number>();
  /** Offset of the last lookup: a good first guess for the next event. */
  private offsetMs = 0;

  constructor(readonly zone: string = 'UTC') {
    if (!IANAZone.isValidZone(zone)) throw new RangeError(`unknown time zone: ${zone}`);
  }

  /** The epoch ms at which local day `day` begins (its first instant: midnight, or later if midnight is skipped). */
  dayStart(day: number): number {
    let ms = this.starts.get(day);
    if (ms === undefined) {
      const d = new Date(day * DAY_MS);
      ms = DateTime.fromObject(
        { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
        { zone: this.zone },
      )
        .startOf('day')
        .toMillis();
      this.starts.set(day, ms);
    }
    return ms;
  }

  /** The local day that contains the instant `ms`. */
  dayOf(ms: number): number {
    let day = Math.floor((ms + this.offsetMs) / DAY_MS);
    while (ms < this.dayStart(day)) day--;
    while (ms >= this.dayStart(day + 1)) day++;
    this.offsetMs = day * DAY_MS - this.dayStart(day);
    return day;
  }

  /** ISO weekday of a day number, 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
  static weekday(day: number): number {
    return ((((day + 3) % 7) + 7) % 7) + 1;
  }

  /** The Monday of the ISO week holding `day`. */
  static weekStart(day: number): number {
    return day - Calendar.weekday(day) + 1;
  }

  /** The first day of the calendar month holding `day`. */
  static monthStart(day: number): number {
    const d = new Date(day * DAY_MS);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
  }

  /** The first day of the next calendar month. */
  static nextMonthStart(day: number): number {
    const d = new Date(day * DAY_MS);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
  }

  /** A day number as its local date, YYYY-MM-DD. */
  static isoDate(day: number): string {
    return new Date(day * DAY_MS).toISOString().slice(0, 10);
  }

  /** The day number of a local date written YYYY-MM-DD. */
  static fromIsoDate(date: string): number {
    return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
  }
}

/**
 * The window "last N days" at evaluation time T = start of day `evalDay`: the half-open
 * range of day numbers [evalDay − N, evalDay), and its previous period just before it.
 */
export interface DayRange {
  from: number;
  /** Exclusive. */
  to: number;
}

export function windowDays(evalDay: number, n: number): DayRange {
  return { from: evalDay - n, to: evalDay };
}

export function previousDays(evalDay: number, n: number): DayRange {
  return { from: evalDay - 2 * n, to: evalDay - n };
}
