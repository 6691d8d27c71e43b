import { describe, expect, it } from 'vitest';
import type { UserUpdate } from '../../schemas/types.js';
import { UserDirectory } from './user-directory.js';

const u = (id: string, ts: number, over: Partial<UserUpdate> = {}): UserUpdate => ({
  updateId: id,
  ts,
  userId: 'ana',
  clientId: null,
  traits: {},
  receivedAt: ts,
  streamSeq: 1,
  index: 0,
  subject: 'tracking.users',
  ...over,
});

describe('UserDirectory', () => {
  const updates = [
    u('a', 100, { clientId: 'acme', traits: { role: 'user' } }),
    u('b', 200, { clientId: 'globex' }),
    u('c', 150, { traits: { role: 'admin', email: 'ana@x.test' } }),
    u('d', 300, { traits: { email: null } }),
  ];

  it('the newest link and traits win by event time, whatever the arrival order', () => {
    const orders = [
      updates,
      [...updates].reverse(),
      [updates[2]!, updates[0]!, updates[3]!, updates[1]!],
    ];
    const states = orders.map((order) => {
      const d = new UserDirectory();
      for (const x of order) d.apply(x);
      return [d.clientOf('ana'), d.traitsOf('ana'), d.snapshot()];
    });
    expect(states[0]![0]).toBe('globex');
    expect(states[0]![1]).toEqual({ role: 'admin' });
    for (const s of states) expect(s).toEqual(states[0]);
  });

  it('a redelivered update writes nothing; a snapshot restores the same state', () => {
    const d = new UserDirectory();
    for (const x of updates) expect(d.apply(x)).toHaveLength(1);
    expect(d.apply(updates[1]!)).toEqual([]);
    const r = new UserDirectory();
    for (const row of d.snapshot()) r.restore(row);
    expect(r.snapshot()).toEqual(d.snapshot());
    // An older link after the restore still loses to the newer one restored.
    r.apply(u('e', 120, { clientId: 'initech' }));
    expect(r.clientOf('ana')).toBe('globex');
    expect(new UserDirectory().clientOf('nobody')).toBeUndefined();
  });
});
