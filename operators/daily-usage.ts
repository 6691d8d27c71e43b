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
import type { EventKind, TrackingEvent } from '../pipeline/contract/types.js';
import type { Calendar } from './calendar.js';
import { Interner, pairKey } from './keys.js';
import { Members } from './members.js';
import { isBoundary, type WindowedBatch } from './types.js';

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

export interface DailyUsageSnapshot {
  clients: string[];
  names: string[];
  members: { clients: string[]; users: string[] };
  days: { day: number; usage: DailyUsageRow[]; userUsage: UserDailyUsageRow[] }[];
}

export class DailyUsage {
  private clients = new Interner();
  /** Event names, interned with their kind (a name keeps the kind it was first seen with). */
  private names = new Interner();
  private members = new Members();
  private readonly days = new Map<number, DayCells>();

  constructor(
    private readonly calendar: Calendar,
    snapshot?: DailyUsageSnapshot,
  ) {
    if (!snapshot) return;
    this.clients = Interner.restore(snapshot.clients);
    this.names = Interner.restore(snapshot.names);
    this.members = Members.restore(snapshot.members);
    for (const d of snapshot.days) {
      const cells = this.cellsOf(d.day);
      for (const r of d.usage) cells.usage.set(this.usageKey(r.clientId, r.name), { ...r });
      for (const r of d.userUsage)
        cells.userUsage.set(this.userKey(r.clientId, r.userId, r.name), { ...r });
    }
  }

  /** Open day cells held (for memory accounting). */
  get size(): number {
    let n = 0;
    for (const c of this.days.values()) n += c.usage.size + c.userUsage.size;
    return n;
  }

  apply(batch: WindowedBatch): DailyUsageRows {
    const out: DailyUsageRows = { usage: [], userUsage: [] };
    const changed = new Set<object>();
    for (const step of batch.steps) {
      if (isBoundary(step)) {
        for (const day of this.days.keys()) if (day < step.boundary.day) this.days.delete(day);
        continue;
      }
      for (const e of step.events) this.add(e, out, changed);
    }
    return out;
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
    return {
      clients: [...this.clients.names],
      names: [...this.names.names],
      members: this.members.snapshot(),
      days: [...this.days].map(([day, c]) => ({
        day,
        usage: [...c.usage.values()],
        userUsage: [...c.userUsage.values()],
      })),
    };
  }
}

export function dailyUsage(state: DailyUsage): OperatorFunction<WindowedBatch, DailyUsageRows> {
  return map((batch) => state.apply(batch));
}
