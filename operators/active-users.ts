/**
 * `activeUsers` — distinct active users per client over the rolling windows: with the
 * default windows, DAU (1 day), WAU (7) and MAU (30), with their previous periods.
 *
 * Each (client, user) keeps one bit per day over the ring of days, so a user costs a few
 * bytes whatever they do. Emits one `RollingRow[]` per input batch (figure "users",
 * subject "active"): at each `boundary` step, per client and window whose figures moved
 * since the midnight before, the users with at least one event in the window and in the
 * previous period (rows hold until the next, as in `rollingCounts`). Users idle for
 * twice the longest window are evicted.
 */
import { map, type OperatorFunction } from 'rxjs';
import { previousDays, windowDays } from './calendar.js';
import { Members } from './members.js';
import { periodChange } from './period-change.js';
import type { RollingRow } from './rolling-counts.js';
import type { TrackingEvent } from '../schemas/types.js';
import { ringDaysFor, type Boundary, type WindowedBatch, type WindowSpec } from './types.js';
import { WindowedOperator } from './windowed.js';
import { grown } from './growable.js';

export interface ActiveUsersSnapshot {
  members: { clients: string[]; users: string[] };
  bits: Uint32Array;
  lastDay: Int32Array;
}

export class ActiveUsers extends WindowedOperator<RollingRow[], ActiveUsersSnapshot> {
  private members = new Members();
  private readonly ringDays: number;
  private readonly words: number;
  private bits: Uint32Array;
  private lastDay: Int32Array;
  /** Members of each client still holding activity. */
  private readonly byClient = new Map<string, Set<number>>();
  private readonly longest: number;

  constructor(
    private readonly spec: WindowSpec,
    snapshot?: ActiveUsersSnapshot,
  ) {
    super();
    this.ringDays = ringDaysFor(spec);
    this.words = Math.ceil(this.ringDays / 32);
    this.longest = Math.max(...spec.days);
    this.bits = new Uint32Array(1024 * this.words);
    this.lastDay = new Int32Array(1024);
    if (snapshot) {
      this.members = Members.restore(snapshot.members);
      this.ensure(this.members.size);
      this.bits.set(snapshot.bits);
      this.lastDay.set(snapshot.lastDay);
      for (let m = 0; m < this.members.size; m++)
        if (this.lastDay[m] !== 0) this.clientSet(this.members.clientOf[m]!).add(m);
    }
  }

  protected emptyOutput(): RollingRow[] {
    return [];
  }

  protected onBoundary(b: Boundary, rows: RollingRow[]): void {
    this.evaluate(b.day, b.at, rows);
  }

  protected onEvents(events: readonly TrackingEvent[]): void {
    for (const e of events) {
      if (e.userId === null) continue;
      const m = this.members.id(e.clientId, e.userId);
      this.ensure(m + 1);
      this.mark(m, this.spec.calendar.dayOf(e.ts));
      if (this.lastDay[m] !== 0) this.clientSet(e.clientId).add(m);
    }
  }

  /** Distinct users of a client active on days [from, to). */
  activeOf(clientId: string, from: number, to: number): number {
    let n = 0;
    for (const m of this.byClient.get(clientId) ?? []) if (this.activeIn(m, from, to)) n++;
    return n;
  }

  private mark(m: number, day: number): void {
    const R = this.ringDays;
    const last = this.lastDay[m]!;
    if (last === 0) this.lastDay[m] = day;
    else if (day > last) {
      for (let d = last + 1, n = 0; d <= day && n < R; d++, n++) this.setBit(m, d % R, false);
      this.lastDay[m] = day;
    } else if (day <= last - R) return;
    this.setBit(m, day % R, true);
  }

  private setBit(m: number, i: number, on: boolean): void {
    const w = m * this.words + (i >>> 5);
    const bit = 1 << (i & 31);
    this.bits[w] = on ? this.bits[w]! | bit : this.bits[w]! & ~bit;
  }

  private activeIn(m: number, from: number, to: number): boolean {
    const last = this.lastDay[m]!;
    const lo = Math.max(from, last - this.ringDays + 1);
    const hi = Math.min(to - 1, last);
    for (let d = lo; d <= hi; d++) {
      const i = d % this.ringDays;
      if ((this.bits[m * this.words + (i >>> 5)]! & (1 << (i & 31))) !== 0) return true;
    }
    return false;
  }

  private evaluate(evalDay: number, at: number, rows: RollingRow[]): void {
    const idleBefore = evalDay - 2 * this.longest - 1;
    for (const [clientId, members] of this.byClient) {
      for (const m of members) {
        if (this.lastDay[m]! < idleBefore) {
          members.delete(m);
          this.lastDay[m] = 0;
          this.bits.fill(0, m * this.words, (m + 1) * this.words);
        }
      }
      if (members.size === 0) {
        this.byClient.delete(clientId);
        continue;
      }
      for (const n of this.spec.days) {
        const count = (r: { from: number; to: number }, shift: number) => {
          let c = 0;
          for (const m of members) if (this.activeIn(m, r.from - shift, r.to - shift)) c++;
          return c;
        };
        const w = windowDays(evalDay, n);
        const p = previousDays(evalDay, n);
        const value = count(w, 0);
        const previous = count(p, 0);
        if (value === count(w, 1) && previous === count(p, 1)) continue;
        rows.push({
          ts: at,
          clientId,
          figure: 'users',
          kind: '*',
          subject: 'active',
          windowDays: n,
          value,
          previous,
          ...periodChange(value, previous),
        });
      }
    }
  }

  private clientSet(clientId: string): Set<number> {
    let s = this.byClient.get(clientId);
    if (!s) this.byClient.set(clientId, (s = new Set()));
    return s;
  }

  private ensure(n: number): void {
    if (n <= this.lastDay.length) return;
    const cap = Math.max(n, this.lastDay.length * 2);
    this.bits = grown(this.bits, cap * this.words, 1);
    this.lastDay = grown(this.lastDay, cap, 1);
  }

  snapshot(): ActiveUsersSnapshot {
    const n = this.members.size;
    return {
      members: this.members.snapshot(),
      bits: this.bits.slice(0, n * this.words),
      lastDay: this.lastDay.slice(0, n),
    };
  }
}

export function activeUsers(state: ActiveUsers): OperatorFunction<WindowedBatch, RollingRow[]> {
  return map((batch) => state.apply(batch));
}
