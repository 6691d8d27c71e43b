/** The figure operators beside rolling counts, and the bundle that checkpoints them. */
import { deserialize, serialize } from 'node:v8';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ev, PEDIDOS_VS_FATURAMENTO, spec } from '../test/fixtures/events.js';
import { random, Reference } from '../test/fixtures/reference.js';
import type { TrackingEvent } from '../schemas/types.js';
import { Calendar } from './calendar.js';
import { percentMore } from './ratios.js';
import { UsageState, type FigureBatch } from './usage-figures.js';
import { Watermark, withWatermark } from './watermark.js';

const DAY = 86_400_000;
const d0 = Date.parse('2026-03-01T12:00:00Z');

function runAll(s: ReturnType<typeof spec>, events: TrackingEvent[], batch = 100): FigureBatch[] {
  const st = new UsageState(s);
  const out: FigureBatch[] = [];
  for (let i = 0; i < events.length; i += batch)
    out.push(structuredClone(st.apply({ events: events.slice(i, i + batch), lastSeq: i + batch })));
  return out;
}

const flat = <T>(bs: FigureBatch[], f: (b: FigureBatch) => T[]) => bs.flatMap(f);

describe('percentMore', () => {
  it('follows the seeds: 500 vs 10 is 4900% more; 180 vs 100 exactly 80%; B = 0 infinite; 0 vs 0 undefined', () => {
    expect(percentMore(500, 10)).toEqual({ percentMore: 4900, state: 'finite' });
    expect(percentMore(180, 100).percentMore).toBe(80);
    expect(percentMore(181, 100).percentMore).toBeGreaterThan(80);
    expect(percentMore(100, 100).percentMore).toBe(0);
    expect(percentMore(3, 0)).toEqual({ percentMore: null, state: 'infinite' });
    expect(percentMore(0, 0)).toEqual({ percentMore: null, state: 'undefined' });
  });
});

describe('ratios', () => {
  it('compares tela:pedidos with tela:faturamento over 30 days, per client and per user', () => {
    const s = spec('UTC', { ratios: [PEDIDOS_VS_FATURAMENTO] });
    const events: TrackingEvent[] = [];
    for (let i = 0; i < 500; i++)
      events.push(ev(d0 + i * 60_000, 'acme', 'tela:pedidos', { user: i % 2 ? 'ana' : 'bia' }));
    for (let i = 0; i < 10; i++)
      events.push(ev(d0 + DAY + i, 'acme', 'tela:faturamento', { user: 'ana' }));
    events.push(ev(d0 + 31 * DAY, 'acme', 'login'));
    const rows = flat(runAll(s, events), (b) => b.ratios);
    const T = Date.parse('2026-03-31T00:00:00Z'); // 30 days: March 1st to 30th
    const asOf = (user: string) => rows.filter((r) => r.ts <= T && r.userId === user).at(-1);
    const client = asOf('*');
    expect(client).toMatchObject({
      a: 500,
      b: 10,
      percentMore: 4900,
      state: 'finite',
      windowDays: 30,
    });
    expect(asOf('bia')).toMatchObject({
      a: 250,
      b: 0,
      state: 'infinite',
    });
    expect(asOf('ana')).toMatchObject({
      a: 250,
      b: 10,
      percentMore: 2400,
    });
    // March 1st leaves the window at April 1st: the pedidos of day 1 are gone.
    const next = rows.filter(
      (r) => r.ts === Date.parse('2026-04-01T00:00:00Z') && r.userId === '*',
    );
    expect(next[0]).toMatchObject({ b: 10 });
    expect(next[0]!.a).toBe(0);
  });
});

describe('activeUsers', () => {
  it('counts distinct users per day, week and month (DAU/WAU/MAU) with previous periods', () => {
    const s = spec('America/Sao_Paulo');
    const rnd = random(3);
    const events: TrackingEvent[] = [];
    for (let i = 0; i < 2000; i++)
      events.push(
        ev(d0 + Math.floor((i / 2000) * 70 * DAY), `c${i % 3}`, 'login', {
          user: `u${Math.floor(rnd() * 40)}`,
        }),
      );
    const rows = flat(runAll(s, events, 333), (b) => b.rolling).filter((r) => r.figure === 'users');
    const ref = new Reference(events, 'America/Sao_Paulo');
    expect(rows.length).toBeGreaterThan(300);
    for (const r of rows.filter((_, i) => i % 7 === 0))
      expect([r.value, r.previous]).toEqual([
        ref.activeUsers(r.ts, r.windowDays, r.clientId),
        ref.activeUsers(r.ts, r.windowDays, r.clientId, true),
      ]);
  });
});

describe('dailyUsage', () => {
  it('keeps per-day totals per (client, name) and (client, user, name) while the day is open', () => {
    const s = spec('UTC', { latenessMs: 3_600_000 });
    const out = runAll(
      s,
      [
        ev(d0, 'acme', 'tela:pedidos', { user: 'ana' }),
        ev(d0 + 1000, 'acme', 'tela:pedidos', { user: 'bia' }),
        ev(d0 + 2000, 'acme', 'tela:pedidos', { user: 'ana' }),
        ev(d0 + 3000, 'acme', 'metrica:vendas', { value: 120.5, user: null }),
      ],
      2,
    );
    const last = (rows: { name: string; userId?: string }[], name: string, user?: string) =>
      rows.filter((r) => r.name === name && (user === undefined || r.userId === user)).at(-1);
    const usage = flat(out, (b) => b.daily.usage);
    expect(last(usage, 'tela:pedidos')).toMatchObject({
      ts: Date.parse('2026-03-01T00:00:00Z'),
      events: 3,
      users: 2,
      valueSum: 3,
      lastTs: d0 + 2000,
    });
    expect(last(usage, 'metrica:vendas')).toMatchObject({ events: 1, users: 0, valueSum: 120.5 });
    const users = flat(out, (b) => b.daily.userUsage);
    expect(last(users, 'tela:pedidos', 'ana')).toMatchObject({ events: 2 });
    // The second batch re-emits only the cells it changed.
    expect(out[1]!.daily.usage.map((r) => r.name)).toEqual(['tela:pedidos', 'metrica:vendas']);
  });
});

describe('metricAggregates', () => {
  it('gives sum, average and the latest value of a metric per window', () => {
    const s = spec('UTC', { latenessMs: 3_600_000 });
    const rows = flat(
      runAll(s, [
        ev(d0, 'acme', 'metrica:vendas', { value: 100 }),
        ev(d0 + DAY, 'acme', 'metrica:vendas', { value: 50 }),
        ev(d0 + DAY - 5, 'acme', 'metrica:vendas', { value: 30 }),
        ev(d0 + 2 * DAY, 'acme', 'login'),
      ]),
      (b) => b.metrics,
    );
    const T = Date.parse('2026-03-03T00:00:00Z');
    expect(rows.find((r) => r.ts === T && r.windowDays === 7)).toMatchObject({
      count: 3,
      sum: 180,
      avg: 60,
      last: 50,
    });
    expect(rows.find((r) => r.ts === T && r.windowDays === 1)).toMatchObject({
      count: 2,
      sum: 80,
      last: 50,
    });
  });
});

describe('lastSeen', () => {
  it('reports, as of each midnight, what moved, and remembers past the eviction of the counters', () => {
    const s = spec('UTC', { days: [1], latenessMs: 3_600_000 });
    const st = new UsageState(s);
    const rows = [
      ev(d0, 'acme', 'tela:a'),
      ev(Date.parse('2026-03-02T00:30:00Z'), 'acme', 'login'), // after midnight, before the watermark passes it
      ev(Date.parse('2026-03-02T01:00:00Z'), 'other', 'login'),
    ].flatMap((e, i) => st.apply({ events: [e], lastSeq: i }).lastSeen);
    const T = Date.parse('2026-03-02T00:00:00Z');
    expect(
      rows
        .filter((r) => r.ts === T && r.clientId === 'acme')
        .map((r) => [r.scope, r.subject, r.lastSeenAt]),
    ).toEqual([
      ['client', '*', d0],
      ['kind', 'screen', d0],
      ['event', 'tela:a', d0],
    ]);
    st.apply({ events: [ev(d0 + 10 * DAY, 'other', 'login')], lastSeq: 9 });
    expect(st.rolling.countOf('acme', 'event', 'tela:a', 0, 1e6)).toBe(0); // evicted
    expect(st.lastSeen.get('acme', 'event', 'tela:a')).toBe(d0);
    expect(st.lastSeen.get('acme', 'client')).toBe(Date.parse('2026-03-02T00:30:00Z'));
  });
});

describe('withWatermark', () => {
  it('splits batches at each midnight the watermark passes, in virtual time', () => {
    const cal = new Calendar('UTC');
    const wm = new Watermark(cal, 3_600_000);
    const a = ev('2026-03-01T23:30:00Z', 'c');
    const b = ev('2026-03-02T00:30:00Z', 'c');
    const c = ev('2026-03-02T01:00:00Z', 'c');
    const late = ev('2026-03-01T23:59:59.999Z', 'c');
    const T = Date.parse('2026-03-02T00:00:00Z');
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, expectObservable }) => {
      const src = cold('a-b|', {
        a: { events: [a, b], lastSeq: 2 },
        b: { events: [c, late], lastSeq: 4 },
      });
      expectObservable(src.pipe(withWatermark(wm))).toBe('x-y|', {
        x: {
          steps: [{ events: [a, b] }],
          tooLate: [],
          watermark: Date.parse('2026-03-01T23:30:00Z'),
          lastSeq: 2,
        },
        y: {
          steps: [
            { boundary: { day: Calendar.fromIsoDate('2026-03-02'), at: T } },
            { events: [c] },
          ],
          tooLate: [late],
          watermark: T,
          lastSeq: 4,
        },
      });
    });
  });
});

describe('UsageState checkpoint', () => {
  it('restored from a snapshot mid-stream, produces exactly what an uninterrupted run does', () => {
    const s = spec('America/Sao_Paulo', {
      latenessMs: 3_600_000,
      ratios: [PEDIDOS_VS_FATURAMENTO],
    });
    const rnd = random(11);
    const names = ['login', 'tela:pedidos', 'tela:faturamento', 'acao:x', 'metrica:vendas'];
    const events: TrackingEvent[] = [];
    for (let i = 0; i < 4000; i++)
      events.push(
        ev(
          d0 + Math.floor((i / 4000) * 50 * DAY),
          `c${Math.floor(rnd() * 6)}`,
          names[Math.floor(rnd() * 5)]!,
          {
            user: `u${Math.floor(rnd() * 9)}`,
            value: Math.floor(rnd() * 100),
          },
        ),
      );
    const whole = runAll(s, events, 250);
    const first = new UsageState(s);
    const out: FigureBatch[] = [];
    for (let i = 0; i < 2000; i += 250)
      out.push(
        structuredClone(first.apply({ events: events.slice(i, i + 250), lastSeq: i + 250 })),
      );
    const restored = new UsageState(s, deserialize(serialize(first.snapshot())));
    for (let i = 2000; i < 4000; i += 250)
      out.push(
        structuredClone(restored.apply({ events: events.slice(i, i + 250), lastSeq: i + 250 })),
      );
    expect(out).toEqual(whole);
  });
});
