/**
 * What Pulso knows of each user: the client account they belong to (from user updates with
 * a client, such as Segment's group calls) and their traits (identify calls), merged by
 * event time like client attributes — so the state depends only on the set of updates,
 * never on their arrival order or on redeliveries. An event that names its user but no
 * client counts for the user's client (the newest link), resolved in stream order.
 */
import type { Scalar, UserUpdate } from '../../schemas/types.js';

interface Stamped {
  value: Scalar;
  ts: number;
  by: string;
}

interface UserState {
  userId: string;
  client: Stamped | undefined;
  traits: Map<string, Stamped>;
  latestTs: number;
  latestBy: string;
  /** Update ids applied in this run, newest last (bounded): a redelivery is recognized. */
  applied: Set<string>;
}

/** Update ids remembered per user to recognize a redelivery. */
const APPLIED_IDS = 64;

/** A row of the user_attributes table: the user's complete state as of `ts`. */
export interface UserRow {
  ts: number;
  userId: string;
  clientId: string | null;
  updateId: string;
  /** Traits as JSON text. */
  traits: string;
  /** When each was set, as JSON text: what a restart needs to merge exactly. */
  stamps: string;
}

const newer = (ts: number, by: string, thanTs: number, thanBy: string) =>
  ts > thanTs || (ts === thanTs && by >= thanBy);

export class UserDirectory {
  private readonly users = new Map<string, UserState>();

  get size(): number {
    return this.users.size;
  }

  /** The client the user belongs to now, if any update said. */
  clientOf(userId: string): string | undefined {
    const c = this.users.get(userId)?.client?.value;
    return typeof c === 'string' ? c : undefined;
  }

  traitsOf(userId: string): Record<string, Scalar> {
    const out: Record<string, Scalar> = {};
    for (const [k, s] of this.users.get(userId)?.traits ?? [])
      if (s.value !== null) out[k] = s.value;
    return out;
  }

  /** Applies an update; returns the user's row to write (none for one already applied). */
  apply(u: UserUpdate): UserRow[] {
    let state = this.users.get(u.userId);
    if (!state) {
      state = {
        userId: u.userId,
        client: undefined,
        traits: new Map(),
        latestTs: u.ts,
        latestBy: u.updateId,
        applied: new Set(),
      };
      this.users.set(u.userId, state);
    }
    if (state.applied.has(u.updateId)) return [];
    state.applied.add(u.updateId);
    if (state.applied.size > APPLIED_IDS)
      state.applied.delete(state.applied.values().next().value!);
    const stamp = { ts: u.ts, by: u.updateId };
    if (
      u.clientId !== null &&
      (!state.client || newer(u.ts, u.updateId, state.client.ts, state.client.by))
    )
      state.client = { value: u.clientId, ...stamp };
    for (const [k, v] of Object.entries(u.traits)) {
      const cur = state.traits.get(k);
      if (!cur || newer(u.ts, u.updateId, cur.ts, cur.by))
        state.traits.set(k, { value: v, ...stamp });
    }
    if (newer(u.ts, u.updateId, state.latestTs, state.latestBy)) {
      state.latestTs = u.ts;
      state.latestBy = u.updateId;
    }
    return [rowOf(state)];
  }

  /** Every user's complete state, as rows `restore` takes back (checkpoints, QuestDB). */
  snapshot(): UserRow[] {
    return [...this.users.values()].map(rowOf);
  }

  restore(row: UserRow): void {
    const stamps = JSON.parse(row.stamps) as Record<string, [number, string]>;
    const traits = JSON.parse(row.traits) as Record<string, Scalar>;
    const state: UserState = {
      userId: row.userId,
      client: undefined,
      traits: new Map(),
      latestTs: row.ts,
      latestBy: row.updateId,
      applied: new Set([row.updateId]),
    };
    const c = stamps.client;
    if (c && row.clientId !== null) state.client = { value: row.clientId, ts: c[0], by: c[1] };
    for (const [k, s] of Object.entries(stamps))
      if (k.startsWith('traits.')) {
        const key = k.slice('traits.'.length);
        state.traits.set(key, { value: traits[key] ?? null, ts: s[0], by: s[1] });
      }
    this.users.set(row.userId, state);
  }
}

function rowOf(state: UserState): UserRow {
  const traits: Record<string, Scalar> = {};
  const stamps: Record<string, [number, string]> = {};
  if (state.client) stamps.client = [state.client.ts, state.client.by];
  for (const [k, s] of [...state.traits].sort(([a], [b]) => (a < b ? -1 : 1))) {
    stamps[`traits.${k}`] = [s.ts, s.by];
    if (s.value !== null) traits[k] = s.value;
  }
  return {
    ts: state.latestTs,
    userId: state.userId,
    clientId: typeof state.client?.value === 'string' ? state.client.value : null,
    updateId: state.latestBy,
    traits: JSON.stringify(traits),
    stamps: JSON.stringify(stamps),
  };
}
