import { describe, expect, it } from 'vitest';
import { random } from '../test/fixtures/reference.js';
import { KeyTable } from './key-table.js';

describe('KeyTable', () => {
  it('behaves like a Map under random sets and deletes, through growth and a snapshot', () => {
    const t = new KeyTable(4);
    const m = new Map<string, number>();
    const rnd = random(5);
    for (let i = 0; i < 50_000; i++) {
      const o = Math.floor(rnd() * 3000);
      const s = Math.floor(rnd() * 40);
      if (rnd() < 0.3) {
        t.delete(o, s);
        m.delete(`${o}|${s}`);
      } else {
        t.set(o, s, i);
        m.set(`${o}|${s}`, i);
      }
    }
    expect(t.size).toBe(m.size);
    for (const [k, v] of m) {
      const [o, s] = k.split('|').map(Number) as [number, number];
      expect(t.get(o, s)).toBe(v);
    }
    const seen = new Map<string, number>();
    KeyTable.restore(t.snapshot()).forEach((o, s, v) => seen.set(`${o}|${s}`, v));
    expect(seen).toEqual(m);
    expect(t.get(999_999, 1)).toBe(-1);
  });
});
