/**
 * When a scheduled playbook runs and which period a run covers. Runs happen at local
 * midnights (the boundaries the watermark emits): daily at every one, weekly at Monday's,
 * monthly at the 1st's. A run covers the period that just ended, named the way people say
 * it: `2026-11-22`, `2026-W47`, `2026-10`. A playbook fires at most once per period.
 */
import { DateTime } from 'luxon';
import { Calendar, DAY_MS } from '../calendar.js';
import type { Schedule } from './playbook.js';

export function isDue(s: Schedule, day: number): boolean {
  switch (s.every) {
    case 'daily':
    case 'continuous':
      return true;
    case 'weekly':
      return Calendar.weekday(day) === 1;
    case 'monthly':
      return Calendar.monthStart(day) === day;
  }
}

/** The period a run at the start of `day` covers (the one that just ended). */
export function periodOf(s: Schedule, day: number): string {
  const ended = day - 1;
  switch (s.every) {
    case 'daily':
    case 'continuous':
      return Calendar.isoDate(ended);
    case 'weekly': {
      const d = DateTime.fromMillis(ended * DAY_MS, { zone: 'UTC' });
      return `${d.weekYear}-W${String(d.weekNumber).padStart(2, '0')}`;
    }
    case 'monthly':
      return Calendar.isoDate(ended).slice(0, 7);
  }
}
