import { describe, expect, it } from 'vitest';
import { DayRings } from './day-rings.js';

describe('DayRings', () => {
  it('counts per day over the ring and forgets days that leave it', () => {
    const r = new DayRings(10, 2);
    const s = r.allocate();
    r.add(s, 100, 1);
    r.add(s, 100, 1);
    r.add(s, 105, 1);
    expect(r.count(s, 100, 101)).toBe(2);
    expect(r.count(s, 100, 106)).toBe(3);
    r.add(s, 112, 1); // day 100 and 101 leave the ring (it now holds 103..112)
    expect(r.count(s, 90, 120)).toBe(2);
    expect(r.add(s, 102, 1)).toBe(false);
  });

  it('stays exact past 65,535 events a day', () => {
    const r = new DayRings(4);
    const s = r.allocate();
    for (let i = 0; i < 70_000; i++) r.add(s, 7, 1);
    expect(r.count(s, 7, 8)).toBe(70_000);
    r.add(s, 12, 1); // the full day leaves the ring with its overflow
    expect(r.count(s, 0, 20)).toBe(1);
  });

  it('keeps value sums apart only once a value other than 1 arrives', () => {
    const r = new DayRings(8);
    const s = r.allocate();
    r.add(s, 1, 1);
    r.add(s, 2, 1);
    expect(r.sum(s, 0, 8)).toBe(2);
    r.add(s, 2, 10.5);
    expect(r.sum(s, 0, 8)).toBe(12.5);
    expect(r.count(s, 0, 8)).toBe(3);
  });

  it('grows, releases and reuses slots, and survives a snapshot', () => {
    const r = new DayRings(5, 1);
    const slots = [r.allocate(), r.allocate(), r.allocate()];
    slots.forEach((s, i) => r.add(s, 50, i + 1));
    r.release(slots[1]!);
    expect(r.size).toBe(2);
    const again = r.allocate();
    expect(again).toBe(slots[1]);
    expect(r.count(again, 0, 100)).toBe(0);
    const copy = DayRings.restore(structuredClone(r.snapshot()));
    expect(copy.sum(slots[2]!, 50, 51)).toBe(3);
    expect(copy.size).toBe(3);
  });
});
