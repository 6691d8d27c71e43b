/**
 * `Admission` — bounds on the state, so that no producer can exhaust memory with new keys.
 *
 * An event is admitted unless it would make the state hold more than
 * - `maxClients` clients (`client_limit`): a client, once admitted, stays — its health score
 *   and last-seen live on;
 * - `maxNamesPerClient` event names for its client, or `maxEventNames` in all (`name_limit`);
 * - `maxUsersPerClient` users for its client (`user_limit`).
 * A name or user idle for `idleDays` (the days the figures keep) is forgotten, as the
 * operators forget its figures, and no longer counts. Clients and names already admitted are
 * never refused, so existing clients are unaffected when a flood of new ones arrives.
 *
 * Decisions depend only on the events in stream order (event time for idleness), so a replay
 * refuses exactly the same events. Emits (from `apply`) the admitted events, in order, and
 * the refused ones with their reason.
 */
import type { TrackingEvent } from '../schemas/types.js';
import { KeyTable, type KeyTableSnapshot } from './key-table.js';
import { Interner } from './interner.js';
import type { Calendar } from './calendar.js';
import { grown } from './growable.js';

export interface AdmissionLimits {
  maxClients: number;
  maxNamesPerClient: number;
  maxEventNames: number;
  maxUsersPerClient: number;
}

export type RefusalCode = 'client_limit' | 'name_limit' | 'user_limit';

export interface Refusal {
  event: TrackingEvent;
  code: RefusalCode;
  message: string;
}

export interface AdmissionSnapshot {
  clients: string[];
  names: string[];
  users: string[];
  /** (client, name) → last day used. */
  clientNames: KeyTableSnapshot;
  /** (client, user) → last day used. */
  clientUsers: KeyTableSnapshot;
  nameCounts: Int32Array;
  userCounts: Int32Array;
  nameUses: Int32Array;
  sweptDay: number;
}

export class Admission {
  private clients = new Interner();
  private names = new Interner();
  private users = new Interner();
  private clientNames = new KeyTable();
  private clientUsers = new KeyTable();
  /** Per client: names and users it holds now. */
  private nameCounts: Int32Array = new Int32Array(1024);
  private userCounts: Int32Array = new Int32Array(1024);
  /** Per name: clients using it now (a name no client uses no longer counts). */
  private nameUses: Int32Array = new Int32Array(1024);
  private liveNames = 0;
  private sweptDay = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly calendar: Calendar,
    /** Days a name or user stays counted after its last event. */
    private readonly idleDays: number,
    s?: AdmissionSnapshot,
  ) {
    if (s) {
      this.clients = Interner.restore(s.clients);
      this.names = Interner.restore(s.names);
      this.users = Interner.restore(s.users);
      this.clientNames = KeyTable.restore(s.clientNames);
      this.clientUsers = KeyTable.restore(s.clientUsers);
      this.nameCounts = s.nameCounts.slice();
      this.userCounts = s.userCounts.slice();
      this.nameUses = s.nameUses.slice();
      for (let i = 0; i < this.names.size; i++) if (this.nameUses[i]! > 0) this.liveNames++;
      this.sweptDay = s.sweptDay;
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Admitted events in order, and the refused ones with why. */
  apply(events: readonly TrackingEvent[]): { admitted: TrackingEvent[]; refused: Refusal[] } {
    const admitted: TrackingEvent[] = [];
    const refused: Refusal[] = [];
    const l = this.limits;
    for (const e of events) {
      const day = this.calendar.dayOf(e.ts);
      if (day > this.sweptDay) this.sweep(day);
      let client = this.clients.find(e.clientId);
      if (client === undefined && this.clients.size >= l.maxClients) {
        refused.push({
          event: e,
          code: 'client_limit',
          message: `the state holds ${l.maxClients} clients (limits.maxClients); client ${e.clientId} is new`,
        });
        continue;
      }
      const name = this.names.find(e.name);
      const nameSlot =
        client === undefined || name === undefined ? -1 : this.clientNames.get(client, name);
      if (nameSlot < 0) {
        const clientNames = client === undefined ? 0 : this.nameCounts[client]!;
        const globalNew = name === undefined || this.nameUses[name] === 0;
        if (
          clientNames >= l.maxNamesPerClient ||
          (globalNew && this.liveNames >= l.maxEventNames)
        ) {
          refused.push({
            event: e,
            code: 'name_limit',
            message:
              clientNames >= l.maxNamesPerClient
                ? `client ${e.clientId} already uses ${l.maxNamesPerClient} event names (limits.maxNamesPerClient); ${e.name} is new`
                : `the state holds ${l.maxEventNames} event names (limits.maxEventNames); ${e.name} is new`,
          });
          continue;
        }
      }
      let userNew = false;
      let user = -1;
      if (e.userId !== null) {
        user = this.users.find(e.userId) ?? -1;
        userNew = client === undefined || user < 0 || this.clientUsers.get(client, user) < 0;
        if (userNew && client !== undefined && this.userCounts[client]! >= l.maxUsersPerClient) {
          refused.push({
            event: e,
            code: 'user_limit',
            message: `client ${e.clientId} already has ${l.maxUsersPerClient} users (limits.maxUsersPerClient); ${e.userId} is new`,
          });
          continue;
        }
      }
      // Admitted: record what it adds.
      if (client === undefined) {
        client = this.clients.id(e.clientId);
        this.nameCounts = fit(this.nameCounts, client);
        this.userCounts = fit(this.userCounts, client);
      }
      const n = this.names.id(e.name);
      this.nameUses = fit(this.nameUses, n);
      const known = this.clientNames.get(client, n);
      if (known < 0) {
        this.nameCounts[client]!++;
        if (this.nameUses[n]!++ === 0) this.liveNames++;
      }
      // The last day only moves forward: a late event never makes a key look idle sooner.
      if (known < day) this.clientNames.set(client, n, day);
      if (e.userId !== null) {
        const u = user >= 0 ? user : this.users.id(e.userId);
        if (userNew) this.userCounts[client]!++;
        if (this.clientUsers.get(client, u) < day) this.clientUsers.set(client, u, day);
      }
      admitted.push(e);
    }
    return { admitted, refused };
  }

  /** Whether a client attribute update may be applied: a new client needs room. */
  admitsClient(clientId: string): boolean {
    if (this.clients.find(clientId) !== undefined) return true;
    if (this.clients.size >= this.limits.maxClients) return false;
    const client = this.clients.id(clientId);
    this.nameCounts = fit(this.nameCounts, client);
    this.userCounts = fit(this.userCounts, client);
    return true;
  }

  /** Forgets names and users idle for `idleDays` before `day`; once per day. */
  private sweep(day: number): void {
    this.sweptDay = day;
    const before = day - this.idleDays;
    for (const [c, n] of idle(this.clientNames, before)) {
      this.nameCounts[c]!--;
      if (--this.nameUses[n]! === 0) this.liveNames--;
    }
    for (const [c] of idle(this.clientUsers, before)) this.userCounts[c]!--;
  }

  snapshot(): AdmissionSnapshot {
    return {
      clients: [...this.clients.names],
      names: [...this.names.names],
      users: [...this.users.names],
      clientNames: this.clientNames.snapshot(),
      clientUsers: this.clientUsers.snapshot(),
      nameCounts: this.nameCounts.slice(0, this.clients.size),
      userCounts: this.userCounts.slice(0, this.clients.size),
      nameUses: this.nameUses.slice(0, this.names.size),
      sweptDay: this.sweptDay,
    };
  }
}

/** Removes and returns the (client, x) pairs of `table` last used before `day`. */
function idle(table: KeyTable, day: number): [number, number][] {
  const gone: [number, number][] = [];
  table.forEach((c, x, last) => {
    if (last < day) gone.push([c, x]);
  });
  for (const [c, x] of gone) table.delete(c, x);
  return gone;
}

/** The array, grown (doubling) so that index i exists. */
const fit = (a: Int32Array, i: number): Int32Array => grown(a, i + 1);
