/**
 * The current attributes of every client, merged from patches by event time.
 *
 * Each attribute keeps the time it was last set; a patch wins for an attribute only if it is
 * at least as recent (ties broken by update id). The current state therefore depends only on
 * the set of patches, never on their arrival order or on redeliveries. Every change yields
 * the rows to write: the row at the patch's own time and, when the patch arrived late, the
 * row at the client's latest time again — so that the newest row of each client
 * (`LATEST ON ts PARTITION BY client_id`) always holds its complete current state.
 */
import type { ClientUpdate, Scalar } from '../../schemas/types.js';
import { UserDirectory } from './user-directory.js';

export type { UserRow } from './user-directory.js';

export const STANDARD_FIELDS = ['status', 'name', 'plan', 'segment', 'csm', 'mrr'] as const;
export type StandardField = (typeof STANDARD_FIELDS)[number];

interface Stamped {
  value: Scalar;
  ts: number;
  by: string;
}

/** One client's state: each attribute with when and by which update it was set. */
export interface ClientState {
  clientId: string;
  latestTs: number;
  latestBy: string;
  fields: Map<StandardField, Stamped>;
  attributes: Map<string, Stamped>;
  /** Update ids applied in this run, newest last (bounded): a redelivery is recognized. */
  applied: Set<string>;
}

/** Update ids remembered per client to recognize a redelivery. */
const APPLIED_IDS = 64;

/** A row of the client_attributes table. */
export interface ClientRow {
  ts: number;
  clientId: string;
  updateId: string;
  status: string | null;
  name: string | null;
  plan: string | null;
  segment: string | null;
  csm: string | null;
  mrr: number | null;
  /** Custom attributes as JSON text. */
  attributes: string;
  /** When each attribute was set, as JSON text: what a restart needs to merge exactly. */
  stamps: string;
}

export class ClientDirectory {
  private readonly clients = new Map<string, ClientState>();
  /** The clients' users: which client each belongs to, and their traits. */
  readonly users = new UserDirectory();

  get size(): number {
    return this.clients.size;
  }

  get(clientId: string): ClientState | undefined {
    return this.clients.get(clientId);
  }

  /** Applies a patch; returns the rows to write (none for a patch already applied: a redelivery). */
  apply(u: ClientUpdate): ClientRow[] {
    let state = this.clients.get(u.clientId);
    if (!state) {
      state = {
        clientId: u.clientId,
        latestTs: u.ts,
        latestBy: u.updateId,
        fields: new Map(),
        attributes: new Map(),
        applied: new Set(),
      };
      this.clients.set(u.clientId, state);
    }
    if (state.applied.has(u.updateId)) return [];
    state.applied.add(u.updateId);
    if (state.applied.size > APPLIED_IDS)
      state.applied.delete(state.applied.values().next().value!);
    for (const [k, v] of Object.entries(u.fields) as [StandardField, Scalar][])
      merge(state.fields, k, v, u);
    for (const [k, v] of Object.entries(u.attributes)) merge(state.attributes, k, v, u);

    const rows = [rowAt(state, u.ts, u.updateId, u)];
    if (newer(u.ts, u.updateId, state.latestTs, state.latestBy)) {
      state.latestTs = u.ts;
      state.latestBy = u.updateId;
    } else if (u.ts !== state.latestTs || u.updateId !== state.latestBy) {
      rows.push(rowAt(state, state.latestTs, state.latestBy));
    }
    return rows;
  }

  /** Every client's complete current state, as rows `restore` takes back (for checkpoints). */
  snapshot(): ClientRow[] {
    const rows: ClientRow[] = [];
    for (const state of this.clients.values())
      rows.push(rowAt(state, state.latestTs, state.latestBy));
    return rows;
  }

  /** Restores one client from its newest row (a checkpoint's, or QuestDB's). */
  restore(row: ClientRow): void {
    const stamps = JSON.parse(row.stamps) as Record<string, [number, string]>;
    const attrs = JSON.parse(row.attributes) as Record<string, Scalar>;
    const state: ClientState = {
      clientId: row.clientId,
      latestTs: row.ts,
      latestBy: row.updateId,
      fields: new Map(),
      attributes: new Map(),
      applied: new Set([row.updateId]),
    };
    for (const f of STANDARD_FIELDS) {
      const s = stamps[f];
      if (s) state.fields.set(f, { value: row[f], ts: s[0], by: s[1] });
    }
    for (const [k, s] of Object.entries(stamps)) {
      if (k.startsWith('attributes.')) {
        const key = k.slice('attributes.'.length);
        state.attributes.set(key, { value: attrs[key] ?? null, ts: s[0], by: s[1] });
      }
    }
    this.clients.set(row.clientId, state);
  }
}

function newer(ts: number, by: string, thanTs: number, thanBy: string): boolean {
  return ts > thanTs || (ts === thanTs && by >= thanBy);
}

function merge<K>(into: Map<K, Stamped>, key: K, value: Scalar, u: ClientUpdate): void {
  const cur = into.get(key);
  if (!cur || newer(u.ts, u.updateId, cur.ts, cur.by))
    into.set(key, { value, ts: u.ts, by: u.updateId });
}

/**
 * The state as known for time `ts`: attributes set after it are left out, except those the
 * patch written at `ts` sets itself.
 */
function rowAt(state: ClientState, ts: number, updateId: string, own?: ClientUpdate): ClientRow {
  const ownStamp = (v: Scalar | undefined): Stamped | undefined =>
    v === undefined || !own ? undefined : { value: v, ts: own.ts, by: own.updateId };
  const known = (s: Stamped | undefined, mine?: Stamped) => (s && s.ts <= ts ? s : mine);
  const fieldStamp = (f: StandardField) => known(state.fields.get(f), ownStamp(own?.fields[f]));
  const field = <T>(f: StandardField) => (fieldStamp(f)?.value ?? null) as T | null;
  const attributes: Record<string, Scalar> = {};
  const stamps: Record<string, [number, string]> = {};
  for (const f of STANDARD_FIELDS) {
    const s = fieldStamp(f);
    if (s) stamps[f] = [s.ts, s.by];
  }
  for (const [k, cur] of [...state.attributes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const s = known(cur, ownStamp(own?.attributes[k]));
    if (!s) continue;
    stamps[`attributes.${k}`] = [s.ts, s.by];
    if (s.value !== null) attributes[k] = s.value;
  }
  return {
    ts,
    clientId: state.clientId,
    updateId,
    status: field<string>('status'),
    name: field<string>('name'),
    plan: field<string>('plan'),
    segment: field<string>('segment'),
    csm: field<string>('csm'),
    mrr: field<number>('mrr'),
    attributes: JSON.stringify(attributes),
    stamps: JSON.stringify(stamps),
  };
}
