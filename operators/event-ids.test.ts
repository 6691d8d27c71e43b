import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ev, spec } from '../test/fixtures/events.js';
import { RulesHarness, of } from '../test/fixtures/rules.js';
import type { TrackingEvent } from '../schemas/types.js';
import { EventIds, isDerivedId } from './event-ids.js';
import { UsageState, type FigureBatch } from './usage-figures.js';

const H = 3_600_000;
const at = (e: TrackingEvent, id: string, receivedAt: number): TrackingEvent => ({
  ...e,
  eventId: id,
  receivedAt,
});

describe('EventIds', () => {
  it('drops a (client, id) seen within the horizon, keeps it after, and scopes ids by client', () => {
    const ids = new EventIds({ horizonMs: H, maxIds: 1000 });
    const base = ev('2026-11-01T10:00:00Z', 'acme');
    const t0 = base.ts;
    expect(ids.apply([at(base, 'a', t0), at(base, 'a', t0 + 1)]).length).toBe(1);
    expect(ids.apply([at({ ...base, clientId: 'other' }, 'a', t0 + 2)]).length).toBe(1);
    expect(ids.apply([at(base, 'a', t0 + H - 1)]).length).toBe(0);
    // Exactly the horizon after the first arrival, the id is forgotten.
    expect(ids.apply([at(base, 'a', t0 + H)]).length).toBe(1);
    expect(ids.duplicates).toBe(2);
  });

  it('never keeps ids derived from the stream position', () => {
    const ids = new EventIds({ horizonMs: H, maxIds: 1000 });
    const e = { ...ev('2026-11-01T10:00:00Z', 'acme'), streamSeq: 9, index: 2 };
    expect(isDerivedId({ ...e, eventId: 'js-9-2' })).toBe(true);
    expect(isDerivedId({ ...e, eventId: 'js-9' })).toBe(true);
    expect(isDerivedId({ ...e, eventId: 'js-8-2' })).toBe(false);
    ids.apply([{ ...e, eventId: 'js-9-2' }]);
    expect(ids.size).toBe(0);
  });

  it('at maxIds forgets the oldest first and reports the shorter horizon; a snapshot keeps it all', () => {
    const ids = new EventIds({ horizonMs: 10 * H, maxIds: 3 });
    const base = ev('2026-11-01T10:00:00Z', 'acme');
    ids.apply(['a', 'b', 'c', 'd'].map((id, i) => at(base, id, base.ts + i * 1000)));
    expect(ids.size).toBe(3);
    expect(ids.effectiveHorizonMs).toBe(2000);
    const copy = new EventIds({ horizonMs: 10 * H, maxIds: 3 }, structuredClone(ids.snapshot()));
    for (const x of [ids, copy]) {
      expect(x.apply([at(base, 'a', base.ts + 5000)]).length).toBe(1); // forgotten early
      expect(x.apply([at(base, 'd', base.ts + 5000)]).length).toBe(0);
    }
  });
});

describe('EventIds against a plain model (property-based)', () => {
  /** The same rules with a Map and a queue: what EventIds must decide, id for id. */
  function model(o: { horizonMs: number; maxIds: number }) {
    const seen = new Map<string, number>();
    const order: string[] = [];
    let newest = -Infinity;
    return (key: string, arrival: number): boolean => {
      newest = Math.max(newest, arrival);
      while (order.length > 0 && seen.get(order[0]!)! <= newest - o.horizonMs)
        seen.delete(order.shift()!);
      if (seen.has(key)) return false;
      if (order.length >= o.maxIds) seen.delete(order.shift()!);
      seen.set(key, arrival);
      order.push(key);
      return true;
    };
  }

  it('decides as the model through growth, ring wrap-around, forgetting and a restore', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 40 }), // client
            fc.oneof(
              fc.integer({ min: 0, max: 300 }).map(String),
              fc.string({ minLength: 1, maxLength: 40 }),
            ),
            fc.integer({ min: 0, max: 50 }), // arrival step
          ),
          { minLength: 1, maxLength: 4000 },
        ),
        fc.integer({ min: 1000, max: 1500 }),
        fc.integer({ min: 100, max: 3000 }),
        fc.nat(4000),
        (steps, maxIds, horizonMs, restoreAt) => {
          const o = { horizonMs, maxIds };
          let ids = new EventIds(o);
          const want = model(o);
          let t = Date.parse('2026-11-01T00:00:00Z');
          steps.forEach(([c, id, dt], i) => {
            if (i === restoreAt) ids = new EventIds(o, structuredClone(ids.snapshot()));
            t += dt;
            const e = { ...ev(t, `c${c}`), eventId: `€${id}`, receivedAt: t };
            expect(ids.apply([e]).length === 1).toBe(want(`c${c}\u0000€${id}`, t));
          });
        },
      ),
      { seed: 20261201, numRuns: 60 },
    );
  });
});

/** Logins over ten days, with ids, published as a backfill: a second apart. */
function logins(perDay = 3, everyDays = 1): TrackingEvent[] {
  const start = Date.parse('2026-11-01T08:00:00Z');
  const out: TrackingEvent[] = [];
  for (let d = 0; d < 10; d += everyDays)
    for (let i = 0; i < perDay; i++) {
      const e = ev(start + d * 86_400_000 + i * 60_000, 'acme', 'login', { user: `u${i}` });
      out.push(at(e, `login-${d}-${i}`, Date.parse('2026-11-11T09:00:00Z') + out.length * 1000));
    }
  return out;
}

describe('an event id counts once in every figure and output', () => {
  const rows = (bs: FigureBatch[]) =>
    bs.map((b) => ({ d: b.daily.usage.map((r) => ({ ...r })), r: b.rolling, l: b.lastSeen }));

  it('the same events sent twice, the second time re-cut into other batches, give the same figures', () => {
    const stream = logins();
    const once = new UsageState(spec('UTC'));
    const twice = new UsageState(spec('UTC'));
    const a: FigureBatch[] = [];
    const b: FigureBatch[] = [];
    for (let i = 0; i < stream.length; i += 5) {
      a.push(structuredClone(once.apply({ events: stream.slice(i, i + 5), lastSeq: i })));
      // Each batch is followed by a re-send of the events just before, cut differently.
      const resend = stream
        .slice(Math.max(0, i - 3), i + 2)
        .map((e) => ({ ...e, receivedAt: e.receivedAt + 1 }));
      b.push(
        structuredClone(
          twice.apply({ events: [...stream.slice(i, i + 5), ...resend], lastSeq: i }),
        ),
      );
    }
    expect(rows(b)).toEqual(rows(a));
    expect(b.reduce((n, x) => n + x.duplicates, 0)).toBe(2 + 5 * 5);
    expect(b.flatMap((x) => x.tooLate)).toEqual([]);
    expect(b.flatMap((x) => x.counted).map((e) => e.eventId)).toEqual(stream.map((e) => e.eventId));
  });

  it('health: logins sent twice count once (the seeds 3–4 band, 7 points, not 10)', () => {
    const attrs = new Map([['acme', { status: 'active', csm: 'ana@pulso.dev' }]]);
    const single = new RulesHarness(attrs);
    const doubled = new RulesHarness(attrs);
    const stream = logins(1, 2); // days 0, 2, 4, 6, 8
    const one = single.feed(stream, Date.parse('2026-11-12T00:00:00Z'));
    const two = doubled.feed(
      stream.flatMap((e) => [e, { ...e, receivedAt: e.receivedAt + 5000 }]),
      Date.parse('2026-11-12T00:00:00Z'),
    );
    expect(of(two, 'health')).toEqual(of(one, 'health'));
    expect(two.map((o) => o.id)).toEqual(one.map((o) => o.id));
    // The seeds' band: 3–4 weekly logins are 7 points, 5 or more 10.
    const last = of(two, 'health', '_score', 'acme').at(-1)!.body as {
      reason: { components: { id: string; value: number; points: number }[] };
    };
    expect(last.reason.components.find((c) => c.id === 'login_frequency')).toMatchObject({
      value: 4,
      points: 7,
    });
  });
});
