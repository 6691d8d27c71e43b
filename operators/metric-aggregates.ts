/**
 * `metricAggregates` — sum, count, average and last value of each business metric
 * (events of kind "metric") per client over the rolling windows, and NPS and CSAT over the
 * values that are survey answers (integers 0–10 and 1–5).
 *
 * Emits one `MetricRow[]` per input batch: at each `boundary` step, per (client, metric)
 * and window whose aggregates moved since the midnight before, the aggregates of the
 * values whose event time falls in the window (count 0 once it emptied); "last" is the
 * value of the latest event in it (the later arrival wins a tie). A row holds until the
 * next one. Metrics idle for longer than the longest window are evicted. Metric keys are few, so each day entry simply
 * records which day it holds.
 */
import { map, type OperatorFunction } from 'rxjs';
import { windowDays } from './calendar.js';
import type { TrackingEvent } from '../schemas/types.js';
import { ringDaysFor, type Boundary, type WindowedBatch, type WindowSpec } from './types.js';
import { WindowedOperator } from './windowed.js';

export interface MetricRow extends MetricFigures {
  ts: number;
  clientId: string;
  name: string;
  windowDays: number;
  avg: number | null;
}

/**
 * A metric's figures over a window. Values that are survey answers count besides: NPS over
 * the integer answers 0–10 (% promoters, 9–10, minus % detractors, 0–6), CSAT over the
 * integer answers 1–5 (% satisfied, 4–5); null without such answers.
 */
export interface MetricFigures {
  count: number;
  sum: number;
  last: number | null;
  nps: number | null;
  csat: number | null;
}

/** Survey answers of a day: [0–10 answers, promoters, detractors, 1–5 answers, satisfied]. */
type Answers = [number, number, number, number, number];

interface Entry {
  day: number;
  count: number;
  sum: number;
  lastTs: number;
  last: number;
  /** Absent until a value that is a survey answer comes. */
  answers?: Answers;
}

/** Rounded to cents: figures are compared for change, so float dust must not count. */
const cents = (x: number) => Math.round(x * 100) / 100;

export function npsOf(answers: number, promoters: number, detractors: number): number | null {
  return answers === 0 ? null : cents(((promoters - detractors) / answers) * 100);
}

export function csatOf(answers: number, satisfied: number): number | null {
  return answers === 0 ? null : cents((satisfied / answers) * 100);
}

export interface MetricAggregatesSnapshot {
  keys: [string, string, Entry[]][];
}

export class MetricAggregates extends WindowedOperator<MetricRow[], MetricAggregatesSnapshot> {
  private readonly ringDays: number;
  private readonly longest: number;
  /** clientId → metric name → ring of day entries. */
  private readonly keys = new Map<string, Map<string, Entry[]>>();

  constructor(
    private readonly spec: WindowSpec,
    snapshot?: MetricAggregatesSnapshot,
  ) {
    super();
    this.ringDays = ringDaysFor(spec);
    this.longest = Math.max(...spec.days);
    for (const [c, n, ring] of snapshot?.keys ?? []) this.metricsOf(c).set(n, ring);
  }

  protected emptyOutput(): MetricRow[] {
    return [];
  }

  protected onBoundary(b: Boundary, rows: MetricRow[]): void {
    this.evaluate(b.day, b.at, rows);
  }

  protected onEvents(events: readonly TrackingEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'metric') continue;
      const metrics = this.metricsOf(e.clientId);
      let ring = metrics.get(e.name);
      if (!ring) metrics.set(e.name, (ring = []));
      const day = this.spec.calendar.dayOf(e.ts);
      const i = day % this.ringDays;
      let entry = ring[i];
      if (!entry || entry.day !== day)
        ring[i] = entry = { day, count: 0, sum: 0, lastTs: -Infinity, last: 0 };
      entry.count++;
      entry.sum += e.value;
      const v = e.value;
      if (Number.isInteger(v) && v >= 0 && v <= 10) {
        const a = (entry.answers ??= [0, 0, 0, 0, 0]);
        a[0]++;
        if (v >= 9) a[1]++;
        else if (v <= 6) a[2]++;
        if (v >= 1 && v <= 5) {
          a[3]++;
          if (v >= 4) a[4]++;
        }
      }
      if (e.ts >= entry.lastTs) {
        entry.lastTs = e.ts;
        entry.last = e.value;
      }
    }
  }

  /** A client's metric over days [from, to), for the rules stage. */
  aggregateOf(clientId: string, name: string, from: number, to: number): MetricFigures {
    const ring = this.keys.get(clientId)?.get(name);
    return ring
      ? this.aggregate(ring, { from, to })
      : { count: 0, sum: 0, last: null, nps: null, csat: null };
  }

  private evaluate(evalDay: number, at: number, rows: MetricRow[]): void {
    for (const [clientId, metrics] of this.keys) {
      for (const [name, ring] of metrics) {
        const newest = ring.reduce((m, e) => (e && e.day > m ? e.day : m), 0);
        if (newest < evalDay - this.longest - 1) {
          metrics.delete(name);
          continue;
        }
        for (const n of this.spec.days) {
          const now = this.aggregate(ring, windowDays(evalDay, n));
          const before = this.aggregate(ring, windowDays(evalDay - 1, n));
          if (
            now.count === before.count &&
            now.sum === before.sum &&
            now.last === before.last &&
            now.nps === before.nps &&
            now.csat === before.csat
          )
            continue;
          rows.push({
            ts: at,
            clientId,
            name,
            windowDays: n,
            ...now,
            avg: now.count === 0 ? null : now.sum / now.count,
          });
        }
      }
      if (metrics.size === 0) this.keys.delete(clientId);
    }
  }

  private aggregate(ring: Entry[], w: { from: number; to: number }): MetricFigures {
    let count = 0;
    let sum = 0;
    let lastTs = -Infinity;
    let last: number | null = null;
    let a: Answers | undefined; // most metrics are no survey: nothing allocated for them
    for (const e of ring) {
      if (!e || e.day < w.from || e.day >= w.to) continue;
      count += e.count;
      sum += e.sum;
      if (e.lastTs >= lastTs) {
        lastTs = e.lastTs;
        last = e.last;
      }
      if (e.answers) {
        a ??= [0, 0, 0, 0, 0];
        for (let i = 0; i < 5; i++) a[i]! += e.answers[i]!;
      }
    }
    return a
      ? { count, sum, last, nps: npsOf(a[0], a[1], a[2]), csat: csatOf(a[3], a[4]) }
      : { count, sum, last, nps: null, csat: null };
  }

  private metricsOf(clientId: string): Map<string, Entry[]> {
    let m = this.keys.get(clientId);
    if (!m) this.keys.set(clientId, (m = new Map()));
    return m;
  }

  snapshot(): MetricAggregatesSnapshot {
    const keys: [string, string, Entry[]][] = [];
    for (const [c, metrics] of this.keys) for (const [n, ring] of metrics) keys.push([c, n, ring]);
    return { keys };
  }
}

export function metricAggregates(
  state: MetricAggregates,
): OperatorFunction<WindowedBatch, MetricRow[]> {
  return map((batch) => state.apply(batch));
}
