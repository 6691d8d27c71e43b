import { describe, expect, it } from 'vitest';
import { ClientDirectory, type ClientRow } from './client-directory.js';
import type { ClientUpdate } from '../../schemas/types.js';

const u = (
  id: string,
  ts: number,
  fields: ClientUpdate['fields'],
  attributes: ClientUpdate['attributes'] = {},
): ClientUpdate => ({
  updateId: id,
  ts,
  clientId: 'acme',
  fields,
  attributes,
  receivedAt: ts,
  streamSeq: 1,
  index: 0,
  subject: 'tracking.clients',
});

const patches = [
  u('a', 100, { status: 'trial', plan: 'basic' }),
  u('b', 200, { status: 'active' }, { seats: 10 }),
  u('c', 300, { csm: 'carla', mrr: 4200 }, { seats: 25, sector: 'varejo' }),
  u('d', 250, { plan: 'pro' }, { sector: null }),
];

/** The newest row per client, as `LATEST ON ts PARTITION BY client_id` would read it. */
function latest(rows: ClientRow[]): ClientRow {
  const byTs = new Map<number, ClientRow>();
  for (const r of rows) byTs.set(r.ts, r); // upsert on (ts, client_id)
  return [...byTs.values()].sort((a, b) => b.ts - a.ts)[0]!;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) =>
    permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]),
  );
}

describe('ClientDirectory', () => {
  it('the latest row holds the complete current state whatever the arrival order', () => {
    const results = permutations(patches).map((order) => {
      const dir = new ClientDirectory();
      return latest(order.flatMap((p) => dir.apply(p)));
    });
    for (const r of results) {
      expect(r).toMatchObject({ ts: 300, status: 'active', plan: 'pro', csm: 'carla', mrr: 4200 });
      // sector was set at 300 (after its removal at 250): it stays.
      expect(JSON.parse(r.attributes)).toEqual({ seats: 25, sector: 'varejo' });
    }
  });

  it('a later patch wins for a field; an earlier one does not override it', () => {
    const dir = new ClientDirectory();
    dir.apply(u('x', 500, { plan: 'enterprise' }));
    const rows = dir.apply(u('y', 400, { plan: 'basic', segment: 'smb' }));
    // The late patch's own row, then the latest row rewritten with what it added.
    expect(rows.map((r) => [r.ts, r.plan, r.segment])).toEqual([
      [400, 'basic', 'smb'],
      [500, 'enterprise', 'smb'],
    ]);
  });

  it('null clears a field and removes a custom attribute', () => {
    const dir = new ClientDirectory();
    dir.apply(u('a', 1, { csm: 'carla' }, { seats: 3 }));
    const [row] = dir.apply(u('b', 2, { csm: null }, { seats: null }));
    expect(row!.csm).toBeNull();
    expect(JSON.parse(row!.attributes)).toEqual({});
  });

  it('re-applying the same patch (a redelivery) changes nothing', () => {
    const dir = new ClientDirectory();
    const first = patches.flatMap((p) => dir.apply(p));
    const state = JSON.stringify(dir.snapshot());
    const again = patches.flatMap((p) => dir.apply(p));
    expect(first.length).toBeGreaterThan(0);
    expect(again).toEqual([]);
    expect(JSON.stringify(dir.snapshot())).toBe(state);
  });

  it('restores from its newest stored row and merges on exactly as before', () => {
    const whole = new ClientDirectory();
    const rows = patches.slice(0, 3).flatMap((p) => whole.apply(p));
    const restored = new ClientDirectory();
    restored.restore(latest(rows));
    expect(latest(restored.apply(patches[3]!))).toEqual(latest(whole.apply(patches[3]!)));
  });
});
