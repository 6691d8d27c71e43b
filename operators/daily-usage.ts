/**
 * `dailyUsage` — usage per local day, per (client, event name) and per (client, user,
 * event name): events, distinct users, value sum, latest event time.
 *
 * Emits one `DailyUsageRows` per input batch: the current totals of every day cell the
 * batch changed, so the open day is visible while it fills (rows are upserts keyed by day
 * and key). A cell is kept only while its day is open: once a `boundary` step passes the
 * day's end no event can reach it, and it is dropped.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { EventKind, TrackingEvent } from '../schemas/types.js';
import type { Calendar } from './calendar.js';
import { Interner } from './interner.js';
import { pairKey } from './pair-key.js';
import { Members } from './members.js';
import type { Boundary, WindowedBatch } from './types.js';
import { WindowedOperator } from './windowed.js';

export interface DailyUsageRow {
  /** Start of the local day. */
  ts: number;
  clientId: string;
  kind: EventKind;
  name: string;
  events: number;
  users: number;
  valueSum: number;
  lastTs: number;
}

export interface UserDailyUsageRow {
  ts: number;
  clientId: string;
  userId: string;
  kind: EventKind;
  name: string;
  events: number;
  valueSum: number;
  lastTs: number;
}

export interface DailyUsageRows {
  usage: DailyUsageRow[];
  userUsage: UserDailyUsageRow[];
}

interface DayCells {
  usage: Map<number, DailyUsageRow>;
  userUsage: Map<number, UserDailyUsageRow>;
}

/** Open day cells as columns (numbers, not objects), which serialize an order faster. */
interface DayColumns {
  day: number;
  usage: { client: Int32Array; name: Int32Array; kind: Uint8Array; n: Float64Array };
  userUsage: { member: Int32Array; name: Int32Array; kind: Uint8Array; n: Float64Array };
}

export interface DailyUsageSnapshot {
  clients: string[];
  names: string[];
  members: { clients: string[]; users: string[] };
  days: DayColumns[];
}

const KINDS: EventKind[] = ['login', 'screen', 'action', 'metric'];

export class DailyUsage extends WindowedOperator<DailyUsageRows, DailyUsageSnapshot> {
  private clients = new Interner();
  /** Event names, interned with their kind (a name keeps the kind it was first seen with). */
  private names = new Interner();
  private members = new Members();
  private readonly days = new Map<number, DayCells>();

  constructor(
    private readonly calendar: Calendar,
    snapshot?: DailyUsageSnapshot,
  ) {
    super();
    if (!snapshot) return;
    this.clients = Interner.restore(snapshot.clients);
    this.names = Interner.restore(snapshot.names);
    this.members = Members.restore(snapshot.members);
    for (const d of snapshot.days) {
      const cells = this.cellsOf(d.day);
      const ts = calendar.dayStart(d.day);
      const u = d.usage;
      for (let i = 0; i < u.client.length; i++) {
        const clientId = this.clients.name(u.client[i]!);
        const name = this.names.name(u.name[i]!);
        const [events, users, valueSum, lastTs] = u.n.subarray(4 * i, 4 * i + 4);
        cells.usage.set(pairKey(u.client[i]!, u.name[i]!), {
          ts,
          clientId,
          kind: KINDS[u.kind[i]!]!,
          name,
          events: events!,
          users: users!,
          valueSum: valueSum!,
          lastTs: lastTs!,
        });
      }
      const m = d.userUsage;
      for (let i = 0; i < m.member.length; i++) {
        const [events, valueSum, lastTs] = m.n.subarray(3 * i, 3 * i + 3);
        cells.userUsage.set(pairKey(m.member[i]!, m.name[i]!), {
          ts,
          clientId: this.members.clientOf[m.member[i]!]!,
          userId: this.members.userOf[m.member[i]!]!,
          kind: KINDS[m.kind[i]!]!,
          name: this.names.name(m.name[i]!),
          events: events!,
          valueSum: valueSum!,
          lastTs: lastTs!,
        });
      }
    }
  }

  /** Open day cells held (for memory accounting). */
  get size(): number {
    let n = 0;
    for (const c of this.days.values()) n += c.usage.size + c.userUsage.size;
    return n;
  }

  /** Cells already in this batch's output: a cell touched many times is emitted once. */
  private changed = new Set<object>();

  protected emptyOutput(): DailyUsageRows {
    this.changed = new Set();
    return { usage: [], userUsage: [] };
  }

  protected onBoundary(b: Boundary): void {
    for (const day of this.days.keys()) if (day < b.day) this.days.delete(day);
  }

  protected onEvents(events: readonly TrackingEvent[], out: DailyUsageRows): void {
    for (const e of events) this.add(e, out, this.changed);
  }

  private add(e: TrackingEvent, out: DailyUsageRows, changed: Set<object>): void {
    const day = this.calendar.dayOf(e.ts);
    const cells = this.cellsOf(day);
    const key = this.usageKey(e.clientId, e.name);
    let cell = cells.usage.get(key);
    if (!cell) {
      cell = {
        ts: this.calendar.dayStart(day),
        clientId: e.clientId,
        kind: e.kind,
        name: e.name,
        events: 0,
        users: 0,
        valueSum: 0,
        lastTs: 0,
      };
      cells.usage.set(key, cell);
    }
    cell.events++;
    cell.valueSum += e.value;
    if (e.ts > cell.lastTs) cell.lastTs = e.ts;
    if (!changed.has(cell)) {
      changed.add(cell);
      out.usage.push(cell);
    }
    if (e.userId === null) return;
    const ukey = this.userKey(e.clientId, e.userId, e.name);
    let ucell = cells.userUsage.get(ukey);
    if (!ucell) {
      ucell = {
        ts: cell.ts,
        clientId: e.clientId,
        userId: e.userId,
        kind: cell.kind,
        name: e.name,
        events: 0,
        valueSum: 0,
        lastTs: 0,
      };
      cells.userUsage.set(ukey, ucell);
      cell.users++;
    }
    ucell.events++;
    ucell.valueSum += e.value;
    if (e.ts > ucell.lastTs) ucell.lastTs = e.ts;
    if (!changed.has(ucell)) {
      changed.add(ucell);
      out.userUsage.push(ucell);
    }
  }

  private cellsOf(day: number): DayCells {
    let c = this.days.get(day);
    if (!c) this.days.set(day, (c = { usage: new Map(), userUsage: new Map() }));
    return c;
  }

  private usageKey(clientId: string, name: string): number {
    return pairKey(this.clients.id(clientId), this.names.id(name));
  }

  private userKey(clientId: string, userId: string, name: string): number {
    return pairKey(this.members.id(clientId, userId), this.names.id(name));
  }

  snapshot(): DailyUsageSnapshot {
    const days: DayColumns[] = [];
    for (const [day, c] of this.days) {
      const u = {
        client: new Int32Array(c.usage.size),
        name: new Int32Array(c.usage.size),
        kind: new Uint8Array(c.usage.size),
        n: new Float64Array(4 * c.usage.size),
      };
      let i = 0;
      for (const r of c.usage.values()) {
        u.client[i] = this.clients.id(r.clientId);
        u.name[i] = this.names.id(r.name);
        u.kind[i] = KINDS.indexOf(r.kind);
        u.n.set([r.events, r.users, r.valueSum, r.lastTs], 4 * i++);
      }
      const m = {
        member: new Int32Array(c.userUsage.size),
        name: new Int32Array(c.userUsage.size),
        kind: new Uint8Array(c.userUsage.size),
        n: new Float64Array(3 * c.userUsage.size),
      };
      i = 0;
      for (const r of c.userUsage.values()) {
        m.member[i] = this.members.id(r.clientId, r.userId);
        m.name[i] = this.names.id(r.name);
        m.kind[i] = KINDS.indexOf(r.kind);
        m.n.set([r.events, r.valueSum, r.lastTs], 3 * i++);
      }
      days.push({ day, usage: u, userUsage: m });
    }
    return {
      clients: [...this.clients.names],
      names: [...this.names.names],
      members: this.members.snapshot(),
      days,
    };
  }
}

export function dailyUsage(state: DailyUsage): OperatorFunction<WindowedBatch, DailyUsageRows> {
  return map((batch) => state.apply(batch));
}
