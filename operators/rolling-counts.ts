/**
 * `rollingCounts` — events per client over rolling windows, at three grains: per
 * (client, event name), per (client, kind) and per client (all activity).
 *
 * Emits one `RollingRow[]` per input batch: nothing for plain event steps; at each
 * `boundary` step, for every key and window N whose figures moved since the midnight
 * before, the count over the N days before that midnight, the count over the N days
 * before those, and the change between them. A row holds until the next row of its key:
 * the figure as of any midnight is the latest row at or before it (a row of zeros ends
 * a key's activity). Sparse keys thus cost a few rows, not one per midnight. A key idle
 * for twice the longest window counts zero everywhere and is evicted (its last-seen lives
 * on in `lastSeen`).
 */
import { map, type OperatorFunction } from 'rxjs';
import type { EventKind, TrackingEvent } from '../schemas/types.js';
import { previousDays, windowDays } from './calendar.js';
import type { Pause } from './steps.js';
import { DayRings, type DayRingsSnapshot } from './day-rings.js';
import { KeyTable, type KeyTableSnapshot } from './key-table.js';
import { Interner } from './interner.js';
import { periodChange } from './period-change.js';
import { ringDaysFor, type Boundary, type WindowedBatch, type WindowSpec } from './types.js';
import { WindowedOperator } from './windowed.js';

export type Figure = 'all' | 'kind' | 'event' | 'users';

export interface RollingRow {
  /** Evaluation time: the midnight the windows end at. */
  ts: number;
  clientId: string;
  figure: Figure;
  kind: EventKind | '*';
  subject: string;
  windowDays: number;
  value: number;
  previous: number;
  change: number;
  changePct: number | null;
}

/** What one rolling count counts (an Activity, interned): its row's `subject` column. */
interface Counted {
  figure: Figure;
  kind: EventKind | '*';
  name: string;
}

const KINDS: EventKind[] = ['login', 'screen', 'action', 'metric'];

export interface RollingCountsSnapshot {
  clients: string[];
  subjects: Counted[];
  keys: KeyTableSnapshot;
  rings: DayRingsSnapshot;
}

export class RollingCounts extends WindowedOperator<RollingRow[], RollingCountsSnapshot> {
  private clients = new Interner();
  private subjects: Counted[] = [];
  private readonly subjectIds = new Map<string, number>();
  private readonly kindSubject = new Map<string, number>();
  /** Event name → subject; an event name keeps the kind it was first seen with. */
  private readonly eventIds = new Map<string, number>();
  /** (client, subject) → ring slot. */
  private keys = new KeyTable();
  private rings: DayRings;
  private readonly longest: number;

  constructor(
    private readonly spec: WindowSpec,
    snapshot?: RollingCountsSnapshot,
  ) {
    super();
    this.longest = Math.max(...spec.days);
    this.rings = snapshot ? DayRings.restore(snapshot.rings) : new DayRings(ringDaysFor(spec));
    const subjects: Counted[] = snapshot?.subjects ?? [
      { figure: 'all', kind: '*', name: '*' },
      ...KINDS.map((k): Counted => ({ figure: 'kind', kind: k, name: k })),
    ];
    for (const s of subjects) {
      const id = this.subjectId(s);
      if (s.figure === 'event') this.eventIds.set(s.name, id);
    }
    for (const k of KINDS)
      this.kindSubject.set(k, this.subjectId({ figure: 'kind', kind: k, name: k }));
    if (snapshot) {
      this.clients = Interner.restore(snapshot.clients);
      this.keys = KeyTable.restore(snapshot.keys);
    }
  }

  /** Active keys at all three grains. */
  get size(): number {
    return this.keys.size;
  }

  protected emptyOutput(): RollingRow[] {
    return [];
  }

  protected onBoundary(b: Boundary, rows: RollingRow[]): void {
    this.evaluate(b.day, b.at, rows);
  }

  protected onEvents(events: readonly TrackingEvent[]): void {
    for (const e of events) {
      const client = this.clients.id(e.clientId);
      const d = this.spec.calendar.dayOf(e.ts);
      this.count(client, 0, d, e);
      this.count(client, this.kindSubject.get(e.kind)!, d, e);
      this.count(client, this.eventSubject(e), d, e);
    }
  }

  /** The count of one figure over days [from, to), for tests and the rules stage. */
  countOf(clientId: string, figure: Figure, name: string, from: number, to: number): number {
    return this.countAt(this.clientIndex(clientId), this.subjectIndex(figure, name), from, to);
  }

  /** The rules stage asks many counts per client: these let it resolve names once. */
  clientIndex(clientId: string): number {
    return this.clients.find(clientId) ?? -1;
  }

  subjectIndex(figure: Figure, name: string): number {
    return this.subjectIds.get(`${figure}\u0000${name}`) ?? -1;
  }

  countAt(client: number, subject: number, from: number, to: number): number {
    if (client < 0 || subject < 0) return 0;
    const slot = this.keys.get(client, subject);
    return slot < 0 ? 0 : this.rings.count(slot, from, to);
  }

  private count(client: number, subject: number, day: number, e: TrackingEvent): void {
    let slot = this.keys.get(client, subject);
    if (slot < 0) {
      slot = this.rings.allocate();
      this.keys.set(client, subject, slot);
    }
    this.rings.add(slot, day, e.value);
  }

  private eventSubject(e: TrackingEvent): number {
    let id = this.eventIds.get(e.name);
    if (id === undefined) {
      id = this.subjectId({ figure: 'event', kind: e.kind, name: e.name });
      this.eventIds.set(e.name, id);
    }
    return id;
  }

  private subjectId(s: Counted): number {
    const k = `${s.figure}\u0000${s.name}`;
    let id = this.subjectIds.get(k);
    if (id === undefined) {
      id = this.subjects.length;
      this.subjects.push(s);
      this.subjectIds.set(k, id);
    }
    return id;
  }

  private evaluate(evalDay: number, at: number, rows: RollingRow[]): void {
    // One day later than "everything is zero", so the row saying so is written first.
    const idleBefore = evalDay - 2 * this.longest - 1;
    const idle: [number, number][] = [];
    this.keys.forEach((client, subjectId, slot) => {
      if (this.rings.last(slot) < idleBefore) {
        this.rings.release(slot);
        idle.push([client, subjectId]);
        return;
      }
      let subject: Counted | undefined;
      for (const n of this.spec.days) {
        const w = windowDays(evalDay, n);
        const p = previousDays(evalDay, n);
        // Unchanged since the midnight before (that row still holds) when the day each
        // window took in counts as much as the day it let go: four cells, not two sums.
        const r = this.rings;
        if (
          r.count(slot, w.to - 1, w.to) === r.count(slot, w.from - 1, w.from) &&
          r.count(slot, p.to - 1, p.to) === r.count(slot, p.from - 1, p.from)
        )
          continue;
        const value = r.count(slot, w.from, w.to);
        const previous = r.count(slot, p.from, p.to);
        subject ??= this.subjects[subjectId]!;
        rows.push({
          ts: at,
          clientId: this.clients.name(client),
          figure: subject.figure,
          kind: subject.kind,
          subject: subject.name,
          windowDays: n,
          value,
          previous,
          ...periodChange(value, previous),
        });
      }
    });
    for (const [client, subjectId] of idle) this.keys.delete(client, subjectId);
  }

  /** The same picture as `snapshot()`, its rings copied in pieces (see steps.ts). */
  async snapshotInSteps(pause: Pause): Promise<RollingCountsSnapshot> {
    const keys = this.keys.snapshot();
    await pause();
    return {
      clients: [...this.clients.names],
      subjects: [...this.subjects],
      keys,
      rings: await this.rings.snapshotInSteps(pause),
    };
  }

  snapshot(): RollingCountsSnapshot {
    return {
      clients: [...this.clients.names],
      subjects: [...this.subjects],
      keys: this.keys.snapshot(),
      rings: this.rings.snapshot(),
    };
  }
}

export function rollingCounts(state: RollingCounts): OperatorFunction<WindowedBatch, RollingRow[]> {
  return map((batch) => state.apply(batch));
}
