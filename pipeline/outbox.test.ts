import { describe, expect, it } from 'vitest';
import { UsageState } from '../operators/usage-figures.js';
import { ev, spec } from '../test/fixtures/events.js';
import { Outbox } from './outbox.js';

describe('Outbox', () => {
  it('writes a day cell touched by several batches once, with its totals, and progress last', () => {
    const state = new UsageState(spec('UTC'));
    const box = new Outbox(false);
    const t = Date.parse('2026-05-01T10:00:00Z');
    for (let i = 0; i < 3; i++) {
      const events = [ev(t + i, 'acme', 'tela:pedidos', { user: `u${i}` })];
      box.add(state.apply({ events, lastSeq: i + 1 }), 1, events, [], []);
    }
    expect(box.rows).toBe(1 + 3); // one day cell, three user cells
    const w = box.take();
    const lines = Buffer.concat(w.sink.bodies).toString().trim().split('\n');
    expect(lines.filter((l) => l.startsWith('usage_daily,'))).toEqual([
      `usage_daily,client_id=acme,kind=screen,name=tela:pedidos events=3i,users=3i,value_sum=3,last_ts=${t + 2}000t ${Date.parse('2026-05-01T00:00:00Z')}000000`,
    ]);
    expect(lines.filter((l) => l.startsWith('user_usage_daily,'))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(
      /^ingest_progress,partition_no=0 written_seq=3i,messages=3i,events=3i,/,
    );
    expect(w.lastSeq).toBe(3);
    expect(box.empty).toBe(true);
    expect(box.take().sink.figureRows).toBe(1); // just progress
  });
});
