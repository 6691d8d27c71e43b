/**
 * `lastSeen` — the time of the latest event per (client, event name), per (client, kind)
 * and per client. Kept apart from the windowed counters so it survives their eviction:
 * "90 days without interaction" must still know when the last interaction was.
 *
 * Emits one `LastSeenRow[]` per input batch: at each `boundary` step, one row for every
 * key whose last-seen moved since the previous boundary (as of that midnight).
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../pipeline/contract/types.js';
import type { Calendar } from './calendar.js';
import { Interner } from './keys.js';
import { isBoundary, type WindowedBatch } from './types.js';

export type LastSeenScope = 'client' | 'kind' | 'event';

export interface LastSeenRow {
  /** Evaluation time: the midnight this is "as of". */
  ts: number;
  clientId: string;
  scope: LastSeenScope;
  subject: string;
  lastSeenAt: number;
}

export interface LastSeenSnapshot {
  keys: string[];
  at: Float64Array;
  early: Float64Array;
  later: Float64Array;
  upcomingDay: number;
}

const SEP = '\u0000';

export class LastSeen {
  private readonly keys = new Interner();
  private at = new Float64Array(1024);
  /** Unreported latest time before the upcoming boundary (0: nothing new). */
  private early = new Float64Array(1024);
  /** Latest time at or after the upcoming boundary: it belongs to the one after. */
  private later = new Float64Array(1024);
  /** The local day whose start is the next boundary; 0 before the first event. */
  private upcomingDay = 0;
  private upcomingAt = Infinity;

  constructor(
    private readonly calendar: Calendar,
    snapshot?: LastSeenSnapshot,
  ) {
    if (snapshot) {
      for (const k of snapshot.keys) this.keys.id(k);
      this.ensure(snapshot.keys.length);
      this.at.set(snapshot.at);
      this.early.set(snapshot.early);
      this.later.set(snapshot.later);
      this.upcomingDay = snapshot.upcomingDay;
      if (this.upcomingDay !== 0) this.upcomingAt = calendar.dayStart(this.upcomingDay);
    }
  }

  apply(batch: WindowedBatch): LastSeenRow[] {
    const rows: LastSeenRow[] = [];
    for (const step of batch.steps) {
      if (isBoundary(step)) this.report(step.boundary.day, step.boundary.at, rows);
      else for (const e of step.events) this.see(e);
    }
    return rows;
  }

  /** Last event time for a client (scope client), kind or event name; undefined if never seen. */
  get(clientId: string, scope: LastSeenScope, subject = '*'): number | undefined {
    const i = this.keys.find(`${clientId}${SEP}${scope}${SEP}${subject}`);
    return i === undefined ? undefined : this.at[i];
  }

  private see(e: TrackingEvent): void {
    if (this.upcomingDay === 0) {
      this.upcomingDay = this.calendar.dayOf(e.ts) + 1;
      this.upcomingAt = this.calendar.dayStart(this.upcomingDay);
    }
    this.touch(`${e.clientId}${SEP}client${SEP}*`, e.ts);
    this.touch(`${e.clientId}${SEP}kind${SEP}${e.kind}`, e.ts);
    this.touch(`${e.clientId}${SEP}event${SEP}${e.name}`, e.ts);
  }

  private touch(key: string, ts: number): void {
    const i = this.keys.id(key);
    this.ensure(i + 1);
    if (ts > this.at[i]!) this.at[i] = ts;
    if (ts < this.upcomingAt) {
      if (ts > this.early[i]!) this.early[i] = ts;
    } else if (ts > this.later[i]!) this.later[i] = ts;
  }

  private report(day: number, at: number, rows: LastSeenRow[]): void {
    this.upcomingDay = day + 1;
    this.upcomingAt = this.calendar.dayStart(day + 1);
    for (let i = 0; i < this.keys.size; i++) {
      const early = this.early[i]!;
      if (early !== 0) {
        const [clientId, scope, subject] = this.keys.name(i).split(SEP) as [
          string,
          LastSeenScope,
          string,
        ];
        rows.push({ ts: at, clientId, scope, subject, lastSeenAt: early });
      }
      // The allowed lateness is under a day, so what was "later" now falls before the next boundary.
      this.early[i] = this.later[i]!;
      this.later[i] = 0;
    }
  }

  private ensure(n: number): void {
    if (n <= this.at.length) return;
    const cap = Math.max(n, this.at.length * 2);
    const at = new Float64Array(cap);
    at.set(this.at);
    const early = new Float64Array(cap);
    early.set(this.early);
    const later = new Float64Array(cap);
    later.set(this.later);
    this.at = at;
    this.early = early;
    this.later = later;
  }

  snapshot(): LastSeenSnapshot {
    const n = this.keys.size;
    return {
      keys: [...this.keys.names],
      at: this.at.slice(0, n),
      early: this.early.slice(0, n),
      later: this.later.slice(0, n),
      upcomingDay: this.upcomingDay,
    };
  }
}

export function lastSeen(state: LastSeen): OperatorFunction<WindowedBatch, LastSeenRow[]> {
  return map((batch) => state.apply(batch));
}
