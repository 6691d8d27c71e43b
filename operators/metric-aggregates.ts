/**
 * `metricAggregates` — sum, count, average and last value of each business metric
 * (events of kind "metric") per client over the rolling windows.
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

export interface MetricRow {
  ts: number;
  clientId: string;
  name: string;
  windowDays: number;
  count: number;
  sum: number;
  avg: number | null;
  last: number | null;
}

interface Entry {
  day: number;
  count: number;
  sum: number;
  lastTs: number;
  last: number;
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
      if (e.ts >= entry.lastTs) {
        entry.lastTs = e.ts;
        entry.last = e.value;
      }
    }
  }

  /** Count, sum and last value of a client's metric over days [from, to), for the rules stage. */
  aggregateOf(
    clientId: string,
    name: string,
    from: number,
    to: number,
  ): { count: number; sum: number; last: number | null } {
    const ring = this.keys.get(clientId)?.get(name);
    return ring ? this.aggregate(ring, { from, to }) : { count: 0, sum: 0, last: null };
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
          if (now.count === before.count && now.sum === before.sum && now.last === before.last)
            continue;
          const { count, sum, last } = now;
          rows.push({
            ts: at,
            clientId,
            name,
            windowDays: n,
            count,
            sum,
            avg: count === 0 ? null : sum / count,
            last,
          });
        }
      }
      if (metrics.size === 0) this.keys.delete(clientId);
    }
  }

  private aggregate(
    ring: Entry[],
    w: { from: number; to: number },
  ): { count: number; sum: number; last: number | null } {
    let count = 0;
    let sum = 0;
    let lastTs = -Infinity;
    let last: number | null = null;
    for (const e of ring) {
      if (!e || e.day < w.from || e.day >= w.to) continue;
      count += e.count;
      sum += e.sum;
      if (e.lastTs >= lastTs) {
        lastTs = e.lastTs;
        last = e.last;
      }
    }
    return { count, sum, last };
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
