/**
 * Per condition kind: the hot path's `holds` equals `explain(...).met`, over random
 * settings and random figures, and both verdicts occur (the property is not vacuous).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Calendar, DAY_MS } from '../../calendar.js';
import type { FigureView } from '../figure-view.js';
import type { Op } from '../playbook.js';
import { CONDITION_KINDS, type ConditionKind, type HealthReading, type SpecOf } from './index.js';

const RUNS = Number(process.env.PULSO_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.PULSO_FUZZ_SEED ?? 20261201);
const m = { day: 20_000, at: 20_000 * DAY_MS, calendar: new Calendar() };

const op = fc.constantFrom<Op>('=', '!=', '>', '>=', '<', '<=');
const small = fc.integer({ min: 0, max: 40 });
const days = fc.constantFrom(1, 7, 30);
const subject = fc.oneof(
  fc.record({ event: fc.constantFrom('tela:pedidos', 'faturamento') }),
  fc.record({ kind: fc.constantFrom('login' as const, 'screen' as const) }),
  fc.constant({ all: true as const }),
);

const specs: { [K in ConditionKind]: fc.Arbitrary<SpecOf<K>> } = {
  count: fc
    .tuple(subject, days, op, small)
    .map(([s, windowDays, o, value]) => ({ ...s, windowDays, op: o, value })),
  activeUsers: fc.record({ windowDays: days, op, value: small }),
  change: fc
    .tuple(
      subject,
      days,
      fc.constantFrom('absolute' as const, 'percent' as const),
      op,
      fc.integer({ min: -100, max: 100 }),
      fc.constantFrom('skip' as const, 'fire' as const),
    )
    .map(([s, windowDays, mode, o, value, whenPreviousZero]) => ({
      ...s,
      windowDays,
      mode,
      op: o,
      value,
      whenPreviousZero,
    })),
  ratio: fc.record({
    a: fc.constant('pedidos'),
    b: fc.constant('faturamento'),
    windowDays: days,
    op,
    value: fc.integer({ min: 0, max: 500 }),
    scope: fc.constantFrom('client' as const, 'anyUser' as const, 'shareOfUsers' as const),
    share: fc.integer({ min: 1, max: 100 }),
    minVolume: fc.integer({ min: 0, max: 5 }),
  }),
  inactivity: fc
    .tuple(subject, fc.integer({ min: 1, max: 60 }))
    .map(([s, moreThanDays]) => ({ ...s, moreThanDays })),
  metric: fc.record({
    name: fc.constant('nps'),
    aggregate: fc.constantFrom('sum' as const, 'avg' as const, 'last' as const, 'count' as const),
    windowDays: days,
    op,
    value: small,
  }),
  health: fc.oneof(
    fc.record({ score: fc.record({ op, value: fc.integer({ min: 0, max: 100 }) }) }),
    fc.record({ band: fc.constantFrom('green' as const, 'yellow' as const, 'red' as const) }),
    fc.record({ drop: fc.record({ points: fc.integer({ min: 1, max: 30 }), withinDays: days }) }),
  ),
};

/** Random figures: counts per subject and period, users, a metric, last seen, a health reading. */
const world = fc.record({
  counts: fc.array(small, { minLength: 4, maxLength: 4 }),
  active: small,
  users: fc.array(fc.record({ userId: fc.constantFrom('u1', 'u2', 'u3'), a: small, b: small }), {
    maxLength: 4,
  }),
  metric: fc.record({ count: small, sum: small, last: fc.option(small) }),
  seenDaysAgo: fc.option(fc.integer({ min: 0, max: 90 })),
  health: fc.option(
    fc.record({
      score: fc.integer({ min: 0, max: 100 }),
      band: fc.constantFrom('green' as const, 'yellow' as const, 'red' as const),
      highest: fc.option(fc.integer({ min: 0, max: 100 })),
    }),
  ),
});

function viewOf(w: typeof world extends fc.Arbitrary<infer T> ? T : never): FigureView {
  return {
    count: (_c, of, _n, period) =>
      w.counts[(('event' in of ? of.event.length : 1) % 2) + (period === 'current' ? 0 : 2)]!,
    activeUsers: () => w.active,
    lastSeen: () => (w.seenDaysAgo === null ? undefined : m.at - w.seenDaysAgo * DAY_MS - 1),
    metric: () => ({ ...w.metric, nps: null, csat: null }),
    users: () => w.users,
    attribute: () => undefined,
    knownSince: () => m.at - 100 * DAY_MS,
  };
}

const readingOf = (
  h: { score: number; band: HealthReading['band']; highest: number | null } | null,
): HealthReading | undefined =>
  h === null
    ? undefined
    : {
        score: h.score,
        band: h.band,
        highestWithin: () => h.highest ?? undefined,
        scoreDaysAgo: () => h.highest ?? undefined,
      };

describe('condition kinds', () => {
  it.each(Object.keys(CONDITION_KINDS) as ConditionKind[])(
    '%s: holds equals explain(...).met',
    (kind) => {
      const judge = CONDITION_KINDS[kind] as (typeof CONDITION_KINDS)['count'];
      const seen = { true: 0, false: 0 };
      fc.assert(
        fc.property(specs[kind] as fc.Arbitrary<SpecOf<'count'>>, world, (spec, w) => {
          const view = viewOf(w);
          const reading = readingOf(w.health);
          const held = judge.holds(spec, 'x', m, view, reading);
          const verdict = judge.explain(spec, 'x', m, view, reading);
          expect(held).toBe(verdict.met);
          expect(verdict.type).toBe(kind);
          expect(verdict.description).toBe(judge.describe(spec));
          seen[String(held) as 'true' | 'false']++;
        }),
        { numRuns: RUNS, seed: SEED },
      );
      expect(seen.true).toBeGreaterThan(0);
      expect(seen.false).toBeGreaterThan(0);
    },
  );
});
