import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ev, spec } from '../test/fixtures/events.js';
import { random, Reference } from '../test/fixtures/reference.js';
import type { TrackingEvent } from '../schemas/types.js';
import { Calendar } from './calendar.js';
import { RollingCounts, rollingCounts, type RollingRow } from './rolling-counts.js';
import type { WindowSpec } from './types.js';
import { Watermark } from './watermark.js';

const SP = 'America/Sao_Paulo';
const day = Calendar.fromIsoDate;

function run(s: WindowSpec, events: TrackingEvent[], batchSize = events.length) {
  const wm = new Watermark(s.calendar, s.allowedLatenessMs);
  const rc = new RollingCounts(s);
  const rows: RollingRow[] = [];
  const tooLate: TrackingEvent[] = [];
  for (let i = 0; i < events.length; i += batchSize) {
    const w = wm.apply({ events: events.slice(i, i + batchSize), lastSeq: i });
    tooLate.push(...w.tooLate);
    rows.push(...rc.apply(w));
  }
  return { rows, tooLate, rc };
}

/** The figure as of a midnight: its latest row at or before it (rows are written on change). */
const at = (rows: RollingRow[], ts: number, subject: string, n: number) =>
  rows.filter((r) => r.ts <= ts && r.subject === subject && r.windowDays === n).at(-1);

describe('rollingCounts', () => {
  it('counts an event at exactly T − 7 days, not one a millisecond earlier, and leaves one at T to the next window', () => {
    const s = spec(SP);
    const T = s.calendar.dayStart(day('2026-11-23')); // Monday 00:00 in São Paulo
    const sevenBack = s.calendar.dayStart(day('2026-11-16'));
    const { rows } = run(s, [
      ev(sevenBack - 1, 'acme', 'tela:criar_produto'),
      ev(sevenBack, 'acme', 'tela:criar_produto'),
      ev(T, 'acme', 'tela:criar_produto'),
      ev(T + 86_400_000, 'acme', 'login'),
    ]);
    expect(at(rows, T, 'tela:criar_produto', 7)).toMatchObject({
      value: 1,
      previous: 1,
      change: 0,
      changePct: 0,
    });
    expect(at(rows, T, 'tela:criar_produto', 30)).toMatchObject({
      value: 2,
      previous: 0,
      changePct: null,
    });
    expect(at(rows, T, 'tela:criar_produto', 1)).toMatchObject({ value: 0, previous: 0 });
    expect(
      rows.filter((r) => r.subject === 'tela:criar_produto' && r.windowDays === 1).length,
    ).toBe(5); // on change only: 1/0, 1/1, 0/1, 0/0, then 1/0 the day after T
    const next = s.calendar.dayStart(day('2026-11-24'));
    expect(at(rows, next, 'tela:criar_produto', 1)).toMatchObject({ value: 1, previous: 0 });
    expect(at(rows, next, 'screen', 7)).toMatchObject({
      value: 1,
      previous: 2,
      change: -1,
      changePct: -50,
    });
    expect(at(rows, next, '*', 30)).toMatchObject({ figure: 'all', value: 3 });
  });

  it('uses 167-hour weeks across the Lisbon spring change', () => {
    const s = spec('Europe/Lisbon');
    const T = s.calendar.dayStart(day('2026-04-01'));
    const from = s.calendar.dayStart(day('2026-03-25'));
    expect(T - from).toBe(167 * 3_600_000);
    const { rows } = run(s, [
      ev(from - 1, 'c', 'tela:x'),
      ev(from, 'c', 'tela:x'),
      ev(T - 1, 'c', 'tela:x'),
      ev(T, 'c', 'login'),
    ]);
    expect(at(rows, T, 'tela:x', 7)).toMatchObject({ value: 2, previous: 1 });
  });

  it('counts out-of-order events inside the lateness exactly and reports older ones as too late', () => {
    const s = spec('UTC', { latenessMs: 3_600_000 });
    const t0 = Date.parse('2026-05-10T22:00:00Z');
    const late = ev(t0 + 1_799_999, 'c', 'tela:a'); // watermark is t0 + 1 h − 1 ms … then t0 + 3 h
    const { rows, tooLate } = run(
      s,
      [
        ev(t0, 'c', 'tela:a'),
        ev(t0 + 7_200_000, 'c', 'tela:a'), // 00:00 next day: watermark 23:00
        ev(t0 + 3_600_000, 'c', 'tela:a'), // 23:00: exactly at the watermark, counted
        ev(t0 + 10_800_000, 'c', 'tela:a'), // 01:00: watermark 00:00 → the boundary
        late, // 22:29:59.999: below 00:00 − 1 h? no: below the watermark of 00:00
      ],
      2,
    );
    expect(tooLate).toEqual([late]);
    expect(at(rows, Date.parse('2026-05-11T00:00:00Z'), 'tela:a', 1)).toMatchObject({ value: 2 });
  });

  it('gives the same figures whatever the batch cuts and arrival order within the lateness', () => {
    const s = spec(SP, { latenessMs: 2 * 3_600_000 });
    const rnd = random(7);
    const start = Date.parse('2026-01-20T00:00:00Z');
    const sorted: TrackingEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      const ts = start + Math.floor((i / 3000) * 45 * 86_400_000);
      sorted.push(ev(ts, `c${Math.floor(rnd() * 5)}`, `tela:${Math.floor(rnd() * 4)}`));
    }
    // Swap neighbours less than an hour apart: arrival order changes, nothing becomes too late.
    const shuffled = [...sorted];
    for (let i = 1; i < shuffled.length; i++)
      if (rnd() < 0.5 && shuffled[i]!.ts - shuffled[i - 1]!.ts < 3_600_000)
        [shuffled[i - 1], shuffled[i]] = [shuffled[i]!, shuffled[i - 1]!];
    const key = (r: RollingRow) => `${r.ts}|${r.clientId}|${r.subject}|${r.windowDays}`;
    const a = run(s, sorted, 3000).rows;
    const b = run(s, shuffled, 7).rows;
    const c = run(s, sorted, 1).rows;
    expect(run(s, shuffled, 7).tooLate).toEqual([]);
    const sort = (rows: RollingRow[]) => [...rows].sort((x, y) => key(x).localeCompare(key(y)));
    expect(sort(b)).toEqual(sort(a));
    expect(c).toEqual(a);

    // And every row equals a plain scan of the events (luxon's calendar, not day numbers).
    const ref = new Reference(sorted, SP);
    for (const r of a.filter((_, i) => i % 17 === 0)) {
      const pick = (e: TrackingEvent) =>
        e.clientId === r.clientId &&
        (r.figure === 'all' || (r.figure === 'kind' ? e.kind : e.name) === r.subject);
      expect([r.value, r.previous]).toEqual([
        ref.count(r.ts, r.windowDays, pick),
        ref.count(r.ts, r.windowDays, pick, true),
      ]);
    }
    // Rows exist exactly where the reference changed since the midnight before.
    const T = ref.midnights()[40]!;
    const before = ref.midnights()[39]!;
    const pair = (t: number, cl: string) =>
      `${ref.count(t, 30, (e) => e.clientId === cl)}/${ref.count(t, 30, (e) => e.clientId === cl, true)}`;
    const expected = ['c0', 'c1', 'c2', 'c3', 'c4'].filter(
      (cl) => pair(T, cl) !== pair(before, cl),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(
      a
        .filter((r) => r.ts === T && r.figure === 'all' && r.windowDays === 30)
        .map((r) => r.clientId)
        .sort(),
    ).toEqual(expected);
  });

  it('evicts a key idle for twice the longest window', () => {
    const s = spec('UTC', { days: [1, 7] });
    const t0 = Date.parse('2026-02-01T12:00:00Z');
    const { rc } = run(s, [
      ev(t0, 'idle', 'tela:a'),
      ev(t0, 'busy', 'tela:a'),
      ev(t0 + 13 * 86_400_000, 'busy', 'tela:a'),
    ]);
    expect(rc.size).toBe(6); // 2 clients × (all, screen, tela:a)
    const later = run(s, [
      ev(t0, 'idle', 'tela:a'),
      ev(t0, 'busy', 'tela:a'),
      ev(t0 + 13 * 86_400_000, 'busy', 'tela:a'),
      ev(t0 + 16 * 86_400_000, 'busy', 'tela:a'),
    ]);
    expect(later.rc.size).toBe(3);
    expect(later.rc.countOf('busy', 'event', 'tela:a', day('2026-02-14'), day('2026-02-18'))).toBe(
      2,
    );
  });

  it('emits one row list per batch, in virtual time', () => {
    const s = spec('UTC', { days: [1] });
    const wm = new Watermark(s.calendar, 0);
    const state = new RollingCounts(s);
    const t0 = Date.parse('2026-06-01T10:00:00Z');
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const batches = cold('-a--b|', {
        a: wm.apply({ events: [ev(t0, 'c', 'tela:a'), ev(t0 + 1, 'c', 'tela:a')], lastSeq: 2 }),
        b: wm.apply({ events: [ev(t0 + 86_400_000, 'c', 'login')], lastSeq: 3 }),
      });
      const T = Date.parse('2026-06-02T00:00:00Z');
      const row = (figure: string, kind: string, subject: string) => ({
        ts: T,
        clientId: 'c',
        figure,
        kind,
        subject,
        windowDays: 1,
        value: 2,
        previous: 0,
        change: 2,
        changePct: null,
      });
      expectObservable(
        batches.pipe(
          rollingCounts(state),
          map((rows) => [...rows].sort((x, y) => x.figure.localeCompare(y.figure))),
        ),
      ).toBe('-x--y|', {
        x: [],
        y: [
          row('all', '*', '*'),
          row('event', 'screen', 'tela:a'),
          row('kind', 'screen', 'screen'),
        ],
      });
    });
  });
});
