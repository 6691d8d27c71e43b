/**
 * `ratios` — how much more event A is used than event B, for each configured pair, per
 * client and (when the pair asks for it) per user: "Comparativo entre indicadores".
 *
 * "A is used 80% more than B" means (A − B) / B × 100 > 80. With B = 0 and A > 0 the ratio
 * is infinite (it fires any "more than" rule); with both at 0 it is undefined (it fires
 * nothing). Emits one `RatioRow[]` per input batch: at each `boundary` step, per pair and
 * client (and user) whose counts moved since the midnight before, the counts of A and B
 * over the pair's window ending at that midnight (a row holds until the next one).
 */
import { map, type OperatorFunction } from 'rxjs';
import { windowDays } from './calendar.js';
import { DayRings, type DayRingsSnapshot } from './day-rings.js';
import { Interner } from './interner.js';
import { itemOf, ownerOf, pairKey } from './pair-key.js';
import { Members } from './members.js';
import type { TrackingEvent } from '../schemas/types.js';
import { ringDaysFor, type Boundary, type WindowedBatch, type WindowSpec } from './types.js';
import { WindowedOperator } from './windowed.js';

export type RatioState = 'finite' | 'infinite' | 'undefined';

export interface PercentMore {
  percentMore: number | null;
  state: RatioState;
}

export function percentMore(a: number, b: number): PercentMore {
  const p = pctMore(a, b);
  if (p === null) return { percentMore: null, state: 'undefined' };
  return p === Infinity
    ? { percentMore: null, state: 'infinite' }
    : { percentMore: p, state: 'finite' };
}

/** (A − B) / B × 100 alone, allocating nothing: Infinity when B = 0 < A, null when both are 0. */
export function pctMore(a: number, b: number): number | null {
  // Multiplying first keeps 180 vs 100 exactly 80.
  if (b > 0) return ((a - b) * 100) / b;
  return a > 0 ? Infinity : null;
}

export interface RatioRow extends PercentMore {
  ts: number;
  clientId: string;
  /** "*" for the client-level figure. */
  userId: string;
  pair: string;
  windowDays: number;
  a: number;
  b: number;
}

export interface RatiosSnapshot {
  clients: string[];
  members: { clients: string[]; users: string[] };
  clientKeys: [number, number][];
  memberKeys: [number, number][];
  rings: DayRingsSnapshot;
}

export class Ratios extends WindowedOperator<RatioRow[], RatiosSnapshot> {
  private clients = new Interner();
  private members = new Members();
  private rings: DayRings;
  private readonly clientKeys = new Map<number, number>();
  private readonly memberKeys = new Map<number, number>();
  /** Event name → the (pair, side) codes it feeds: side A is 2p, side B 2p + 1. */
  private readonly sides = new Map<string, number[]>();

  constructor(
    private readonly spec: WindowSpec,
    snapshot?: RatiosSnapshot,
  ) {
    super();
    spec.ratios.forEach((r, p) => {
      for (const [name, code] of [
        [r.a, 2 * p],
        [r.b, 2 * p + 1],
      ] as const)
        this.sides.set(name, [...(this.sides.get(name) ?? []), code]);
    });
    this.rings = snapshot ? DayRings.restore(snapshot.rings) : new DayRings(ringDaysFor(spec), 256);
    if (snapshot) {
      this.clients = Interner.restore(snapshot.clients);
      this.members = Members.restore(snapshot.members);
      for (const [k, s] of snapshot.clientKeys) this.clientKeys.set(k, s);
      for (const [k, s] of snapshot.memberKeys) this.memberKeys.set(k, s);
    }
  }

  protected emptyOutput(): RatioRow[] {
    return [];
  }

  protected onBoundary(b: Boundary, rows: RatioRow[]): void {
    this.evaluate(b.day, b.at, rows);
  }

  protected onEvents(events: readonly TrackingEvent[]): void {
    for (const e of events) {
      const codes = this.sides.get(e.name);
      if (!codes) continue;
      const day = this.spec.calendar.dayOf(e.ts);
      const client = this.clients.id(e.clientId);
      for (const code of codes) {
        this.count(this.clientKeys, pairKey(client, code), day);
        if (e.userId !== null && this.spec.ratios[code >> 1]!.perUser)
          this.count(this.memberKeys, pairKey(this.members.id(e.clientId, e.userId), code), day);
      }
    }
  }

  private count(keys: Map<number, number>, key: number, day: number): void {
    let slot = keys.get(key);
    if (slot === undefined) keys.set(key, (slot = this.rings.allocate()));
    this.rings.add(slot, day, 1);
  }

  private evaluate(evalDay: number, at: number, rows: RatioRow[]): void {
    this.evaluateOwners(this.clientKeys, evalDay, at, rows, (o) => [this.clients.name(o), '*']);
    this.evaluateOwners(this.memberKeys, evalDay, at, rows, (o) => [
      this.members.clientOf[o]!,
      this.members.userOf[o]!,
    ]);
  }

  private evaluateOwners(
    keys: Map<number, number>,
    evalDay: number,
    at: number,
    rows: RatioRow[],
    who: (owner: number) => [string, string],
  ): void {
    const owners = new Set<number>();
    for (const [key, slot] of keys) {
      const pair = this.spec.ratios[itemOf(key) >> 1]!;
      if (this.rings.last(slot) < evalDay - pair.windowDays - 1) {
        this.rings.release(slot);
        keys.delete(key);
      } else owners.add(ownerOf(key));
    }
    for (const owner of owners) {
      const [clientId, userId] = who(owner);
      this.spec.ratios.forEach((pair, p) => {
        const w = windowDays(evalDay, pair.windowDays);
        const a = this.countOf(keys, pairKey(owner, 2 * p), w.from, w.to);
        const b = this.countOf(keys, pairKey(owner, 2 * p + 1), w.from, w.to);
        if (
          a === this.countOf(keys, pairKey(owner, 2 * p), w.from - 1, w.to - 1) &&
          b === this.countOf(keys, pairKey(owner, 2 * p + 1), w.from - 1, w.to - 1)
        )
          return; // unchanged since the midnight before
        rows.push({
          ts: at,
          clientId,
          userId,
          pair: pair.id,
          windowDays: pair.windowDays,
          a,
          b,
          ...percentMore(a, b),
        });
      });
    }
  }

  /**
   * Per-user counts of a configured pair over days [from, to), for the rules stage: every
   * user of the client who has either side in the ring.
   */
  usersOf(
    clientId: string,
    pairId: string,
    from: number,
    to: number,
  ): { userId: string; a: number; b: number }[] {
    const p = this.spec.ratios.findIndex((r) => r.id === pairId);
    const users = p < 0 ? undefined : this.members.usersOf(clientId);
    if (!users) return [];
    const out: { userId: string; a: number; b: number }[] = [];
    for (const [userId, m] of users) {
      const a = this.countOf(this.memberKeys, pairKey(m, 2 * p), from, to);
      const b = this.countOf(this.memberKeys, pairKey(m, 2 * p + 1), from, to);
      if (a > 0 || b > 0) out.push({ userId, a, b });
    }
    return out;
  }

  private countOf(keys: Map<number, number>, key: number, from: number, to: number): number {
    const slot = keys.get(key);
    return slot === undefined ? 0 : this.rings.count(slot, from, to);
  }

  snapshot(): RatiosSnapshot {
    return {
      clients: [...this.clients.names],
      members: this.members.snapshot(),
      clientKeys: [...this.clientKeys],
      memberKeys: [...this.memberKeys],
      rings: this.rings.snapshot(),
    };
  }
}

export function ratios(state: Ratios): OperatorFunction<WindowedBatch, RatioRow[]> {
  return map((batch) => state.apply(batch));
}
