/**
 * What every condition kind provides: `holds` (the hot path: allocation-free, most clients
 * do not fire), `explain` (the verdict with its evidence, for what fires: `explain(...).met`
 * always equals `holds`), and `describe` (the sentence an alert shows).
 */
import type { Calendar } from '../../calendar.js';
import type { Band } from '../health.js';
import type { FigureView } from '../figure-view.js';
import type { Condition } from '../playbook.js';

export type ConditionKind =
  'count' | 'activeUsers' | 'change' | 'ratio' | 'inactivity' | 'metric' | 'health';

/** The settings of a condition of kind K (`{ count: {...} }` → its `{...}`). */
export type SpecOf<K extends ConditionKind> = Extract<Condition, Record<K, unknown>>[K];

export interface HealthReading {
  score: number;
  band: Band;
  /** Highest score recorded over the last `days` days, before today's. */
  highestWithin(days: number): number | undefined;
  /** The score at the midnight `days` before this one, if the client had one. */
  scoreDaysAgo(days: number): number | undefined;
}

/** The evaluation time: a local midnight. */
export interface Moment {
  day: number;
  at: number;
  calendar: Calendar;
}

export interface Verdict {
  met: boolean;
  type: ConditionKind;
  description: string;
  observed: Record<string, number | string | null>;
  threshold?: { op: string; value: number | string };
  window?: { from: string; to: string };
}

export interface ConditionJudge<K extends ConditionKind> {
  kind: K;
  holds(
    spec: SpecOf<K>,
    clientId: string,
    m: Moment,
    view: FigureView,
    health: HealthReading | undefined,
  ): boolean;
  explain(
    spec: SpecOf<K>,
    clientId: string,
    m: Moment,
    view: FigureView,
    health: HealthReading | undefined,
  ): Verdict;
  describe(spec: SpecOf<K>): string;
}

/** ISO text of the instants a midnight's verdicts share (window bounds): built once each. */
const isoCache = new Map<number, string>();
export function isoOf(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    if (isoCache.size > 4096) isoCache.clear();
    isoCache.set(ms, (s = new Date(ms).toISOString()));
  }
  return s;
}

/** The window of the last `n` days before the evaluation (`back` days earlier still). */
export function windowOf(m: Moment, n: number, back = 0): { from: string; to: string } {
  return {
    from: isoOf(m.calendar.dayStart(m.day - n - back)),
    to: isoOf(m.calendar.dayStart(m.day - back)),
  };
}
