/**
 * `lastSeen` — the time of the latest event per (client, event name), per (client, kind)
 * and per client. Kept apart from the windowed counters so it survives their eviction:
 * "90 days without interaction" must still know when the last interaction was.
 *
 * Emits one `LastSeenRow[]` per input batch: at each `boundary` step, one row for every
 * key whose last-seen moved since the previous boundary (as of that midnight).
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../schemas/types.js';
import type { Calendar } from './calendar.js';
import { KeyTable, type KeyTableSnapshot } from './key-table.js';
import { Interner } from './interner.js';
import type { Boundary, WindowedBatch } from './types.js';
import { WindowedOperator } from './windowed.js';
import { grown } from './growable.js';

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
  clients: string[];
  subjects: string[];
  index: KeyTableSnapshot;
  owners: Int32Array;
  subjectIds: Int32Array;
  at: Float64Array;
  early: Float64Array;
  later: Float64Array;
  settled: Float64Array;
  upcomingDay: number;
}

const SEP = '\u0000';

export class LastSeen extends WindowedOperator<LastSeenRow[], LastSeenSnapshot> {
  private clients = new Interner();
  /** "scope\0subject" strings; client-wide is subject 0. */
  private subjects = new Interner();
  private readonly eventSubjects = new Map<string, number>();
  private readonly kindSubjects = new Map<string, number>();
  /** (client, subject) → index into the arrays below, and back. */
  private index = new KeyTable();
  private owners = new Int32Array(1024);
  private subjectIds = new Int32Array(1024);
  private n = 0;
  private at = new Float64Array(1024);
  /** Unreported latest time before the upcoming boundary (0: nothing new). */
  private early = new Float64Array(1024);
  /** Latest time at or after the upcoming boundary: it belongs to the one after. */
  private later = new Float64Array(1024);
  /** Latest time reported at a boundary so far (what `early` adds to). */
  private settled = new Float64Array(1024);
  /** The local day whose start is the next boundary; 0 before the first event. */
  private upcomingDay = 0;
  private upcomingAt = Infinity;

  constructor(
    private readonly calendar: Calendar,
    snapshot?: LastSeenSnapshot,
  ) {
    super();
    this.subjects.id(`client${SEP}*`);
    if (snapshot) {
      this.clients = Interner.restore(snapshot.clients);
      this.subjects = Interner.restore(snapshot.subjects);
      this.index = KeyTable.restore(snapshot.index);
      this.n = snapshot.owners.length;
      this.ensure(this.n);
      this.owners.set(snapshot.owners);
      this.subjectIds.set(snapshot.subjectIds);
      this.at.set(snapshot.at);
      this.early.set(snapshot.early);
      this.later.set(snapshot.later);
      this.settled.set(snapshot.settled);
      this.upcomingDay = snapshot.upcomingDay;
      if (this.upcomingDay !== 0) this.upcomingAt = calendar.dayStart(this.upcomingDay);
    }
  }

  protected emptyOutput(): LastSeenRow[] {
    return [];
  }

  protected onBoundary(b: Boundary, rows: LastSeenRow[]): void {
    this.report(b.day, b.at, rows);
  }

  protected onEvents(events: readonly TrackingEvent[]): void {
    for (const e of events) this.see(e);
  }

  /** Last event time for a client (scope client), kind or event name; undefined if never seen. */
  get(clientId: string, scope: LastSeenScope, subject = '*'): number | undefined {
    const c = this.clients.find(clientId);
    const s = this.subjects.find(`${scope}${SEP}${subject}`);
    const i = c === undefined || s === undefined ? -1 : this.index.get(c, s);
    return i < 0 ? undefined : this.at[i];
  }

  /**
   * Last event time strictly before the upcoming boundary, for the rules stage to ask just
   * before that boundary is applied: events already seen beyond it do not count.
   */
  getBeforeBoundary(clientId: string, scope: LastSeenScope, subject = '*'): number | undefined {
    return this.beforeBoundaryAt(this.clientIndex(clientId), this.subjectIndex(scope, subject));
  }

  /** Name lookups, resolved once by a caller asking many times. */
  clientIndex(clientId: string): number {
    return this.clients.find(clientId) ?? -1;
  }

  subjectIndex(scope: LastSeenScope, subject: string): number {
    return this.subjects.find(`${scope}${SEP}${subject}`) ?? -1;
  }

  beforeBoundaryAt(client: number, subject: number): number | undefined {
    const i = client < 0 || subject < 0 ? -1 : this.index.get(client, subject);
    if (i < 0) return undefined;
    const t = Math.max(this.settled[i]!, this.early[i]!);
    return t === 0 ? undefined : t;
  }

  private see(e: TrackingEvent): void {
    if (this.upcomingDay === 0) {
      this.upcomingDay = this.calendar.dayOf(e.ts) + 1;
      this.upcomingAt = this.calendar.dayStart(this.upcomingDay);
    }
    const c = this.clients.id(e.clientId);
    this.touch(c, 0, e.ts);
    this.touch(c, this.cachedIndex(this.kindSubjects, 'kind', e.kind), e.ts);
    this.touch(c, this.cachedIndex(this.eventSubjects, 'event', e.name), e.ts);
  }

  private cachedIndex(cache: Map<string, number>, scope: LastSeenScope, name: string): number {
    let s = cache.get(name);
    if (s === undefined) cache.set(name, (s = this.subjects.id(`${scope}${SEP}${name}`)));
    return s;
  }

  private touch(client: number, subject: number, ts: number): void {
    let i = this.index.get(client, subject);
    if (i < 0) {
      i = this.n++;
      this.ensure(this.n);
      this.index.set(client, subject, i);
      this.owners[i] = client;
      this.subjectIds[i] = subject;
    }
    if (ts > this.at[i]!) this.at[i] = ts;
    if (ts < this.upcomingAt) {
      if (ts > this.early[i]!) this.early[i] = ts;
    } else if (ts > this.later[i]!) this.later[i] = ts;
  }

  private report(day: number, at: number, rows: LastSeenRow[]): void {
    this.upcomingDay = day + 1;
    this.upcomingAt = this.calendar.dayStart(day + 1);
    for (let i = 0; i < this.n; i++) {
      const early = this.early[i]!;
      if (early !== 0) {
        const [scope, subject] = this.subjects.name(this.subjectIds[i]!).split(SEP) as [
          LastSeenScope,
          string,
        ];
        rows.push({
          ts: at,
          clientId: this.clients.name(this.owners[i]!),
          scope,
          subject,
          lastSeenAt: early,
        });
      }
      if (early > this.settled[i]!) this.settled[i] = early;
      // The allowed lateness is under a day, so what was "later" now falls before the next boundary.
      this.early[i] = this.later[i]!;
      this.later[i] = 0;
    }
  }

  private ensure(n: number): void {
    if (n <= this.at.length) return;
    const cap = Math.max(n, Math.ceil(this.at.length * 1.5));
    this.at = grown(this.at, cap, 1);
    this.early = grown(this.early, cap, 1);
    this.later = grown(this.later, cap, 1);
    this.settled = grown(this.settled, cap, 1);
    this.owners = grown(this.owners, cap, 1);
    this.subjectIds = grown(this.subjectIds, cap, 1);
  }

  snapshot(): LastSeenSnapshot {
    const n = this.n;
    return {
      clients: [...this.clients.names],
      subjects: [...this.subjects.names],
      index: this.index.snapshot(),
      owners: this.owners.slice(0, n),
      subjectIds: this.subjectIds.slice(0, n),
      at: this.at.slice(0, n),
      early: this.early.slice(0, n),
      later: this.later.slice(0, n),
      settled: this.settled.slice(0, n),
      upcomingDay: this.upcomingDay,
    };
  }
}

export function lastSeen(state: LastSeen): OperatorFunction<WindowedBatch, LastSeenRow[]> {
  return map((batch) => state.apply(batch));
}
