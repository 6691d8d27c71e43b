/** The health model of seed 004, and the health conditions of playbooks. */
import { describe, expect, it } from 'vitest';
import { Calendar } from '../calendar.js';
import { shippedHealth } from '../../test/fixtures/rules.js';
import { judge } from './conditions.js';
import type { FigureView } from './figure-view.js';
import { bandOf, ClientHealth, componentScores, pointsFor, type HealthConfig } from './health.js';

/** Figures where every count is `logins` and nothing else exists. */
const viewOf = (logins: number): FigureView => ({
  count: () => logins,
  activeUsers: () => 0,
  lastSeen: () => undefined,
  metric: () => ({ count: 0, sum: 0, last: null, nps: null, csat: null }),
  users: () => [],
  attribute: () => undefined,
  knownSince: () => undefined,
});

describe('login-frequency component (weekly logins, weight 15%, max 10 points)', () => {
  const h = shippedHealth();
  const login = h.components.find((c) => c.id === 'login_frequency')!;
  const only: HealthConfig = { ...h, components: [login] };

  it.each([
    [7, 10, 1.5],
    [5, 10, 1.5],
    [4, 7, 1.05],
    [3, 7, 1.05],
    [2, 3, 0.45],
    [1, 3, 0.45],
    [0, 0, 0],
  ])('%i logins → %i points, contribution %d', (logins, points, contribution) => {
    expect(pointsFor(logins, login)).toBe(points);
    const [c] = componentScores(only, 'x', viewOf(logins)).components;
    expect(c).toEqual({ id: 'login_frequency', value: logins, points, contribution });
  });

  it('the shipped weights add up to 100, so a client at every maximum scores 100', () => {
    expect(h.components.reduce((s, c) => s + c.weight, 0)).toBe(100);
    const top: FigureView = { ...viewOf(1000), activeUsers: () => 1000 };
    expect(componentScores(h, 'x', top).base).toBe(100);
  });
});

describe('bands', () => {
  it('80/79/60/59 are green/yellow/yellow/red with the default thresholds', () => {
    const t = shippedHealth().thresholds;
    expect([80, 79, 60, 59].map((s) => bandOf(s, t))).toEqual(['green', 'yellow', 'yellow', 'red']);
  });
  it('76/75/51/50 are green/yellow/yellow/red with the "initial approach" 76/51', () => {
    const t = { green: 76, yellow: 51 };
    expect([76, 75, 51, 50].map((s) => bandOf(s, t))).toEqual(['green', 'yellow', 'yellow', 'red']);
  });
});

describe('playbook points', () => {
  const a = { lastDays: 28, maxPoints: 30 };
  it('are clamped to 0–100 and to ±maxPoints in total, and expire after lastDays', () => {
    const h = new ClientHealth();
    h.base = 98;
    h.adjustments.push([100, 5]);
    expect(h.scoreAt(100, a)).toBe(100);
    h.base = 50;
    for (let d = 0; d < 12; d++) h.adjustments.push([100 + d, -3]);
    // 5 − 36 = −31, clamped to −30.
    expect(h.scoreAt(111, a)).toBe(20);
    // On day 128 the +5 of day 100 has expired; the −3 of day 100 too: 11 × −3 = −33 → −30.
    expect(h.scoreAt(128, a)).toBe(20);
    // By day 139 only day 111's −3 is left.
    expect(h.scoreAt(138, a)).toBe(47);
    h.trim(138, a, 0);
    expect(h.adjustments).toEqual([[111, -3]]);
  });
});

describe('TC-10: health velocity (seed 004)', () => {
  const m = { day: 200, at: 200 * 86_400_000, calendar: new Calendar() };
  const drop = { health: { drop: { points: 15, withinDays: 7 } } } as const;
  const reading = (history: [number, number][], score: number) => {
    const h = new ClientHealth();
    h.history = history;
    return {
      score,
      band: 'yellow' as const,
      highestWithin: (d: number) => h.highestWithin(200, d),
      scoreDaysAgo: (d: number) => h.scoreOn(200 - d),
    };
  };
  it('85 → 70 within 7 days fires; −14 does not; −15 spread over 10 days does not', () => {
    expect(
      judge(
        drop,
        'x',
        m,
        viewOf(0),
        reading(
          [
            [193, 85],
            [199, 80],
          ],
          70,
        ),
      ).met,
    ).toBe(true);
    expect(judge(drop, 'x', m, viewOf(0), reading([[193, 84]], 70)).met).toBe(false);
    expect(
      judge(
        drop,
        'x',
        m,
        viewOf(0),
        reading(
          [
            [190, 85],
            [195, 79],
            [199, 75],
          ],
          70,
        ),
      ).met,
    ).toBe(false);
  });
  it('trend: the change over N days — 80 a week ago and 65 now is −15; no score that old, not met', () => {
    const fell = { health: { trend: { days: 7, op: '<=', value: -15 } } } as const;
    const rose = { health: { trend: { days: 7, op: '>', value: 0 } } } as const;
    const history: [number, number][] = [
      [193, 80],
      [196, 72],
    ];
    const v = judge(fell, 'x', m, viewOf(0), reading(history, 65));
    expect(v).toMatchObject({ met: true, observed: { score: 65, then: 80, change: -15 } });
    expect(judge(fell, 'x', m, viewOf(0), reading(history, 66)).met).toBe(false);
    expect(judge(rose, 'x', m, viewOf(0), reading(history, 81)).met).toBe(true);
    // Seven days back is day 193: a history that starts later has nothing to compare.
    expect(judge(fell, 'x', m, viewOf(0), reading([[196, 90]], 10)).met).toBe(false);
  });
  it('TC-09: a score of 69 is below 70, 70 is not', () => {
    const below = { health: { score: { op: '<', value: 70 } } } as const;
    expect(judge(below, 'x', m, viewOf(0), reading([], 69)).met).toBe(true);
    expect(judge(below, 'x', m, viewOf(0), reading([], 70)).met).toBe(false);
  });
});

describe('the hot path', () => {
  it('`holds` agrees with `judge(...).met` on every shipped condition, over random figures', async () => {
    const { shippedPlaybooks } = await import('../../test/fixtures/rules.js');
    const { holds } = await import('./conditions.js');
    const { conditionsOf } = await import('./playbook.js');
    const { random } = await import('../../test/fixtures/reference.js');
    const r = random(3);
    const conditions = shippedPlaybooks().flatMap(conditionsOf);
    const m = { day: 20_000, at: 20_000 * 86_400_000, calendar: new Calendar() };
    let fired = 0;
    for (let i = 0; i < 3000; i++) {
      const pick = () => (r() < 0.3 ? 0 : Math.floor(r() * 400));
      const counts = [pick(), pick(), pick(), pick()];
      const seen = r() < 0.2 ? undefined : m.at - Math.floor(r() * 200 * 86_400_000);
      const view: FigureView = {
        ...viewOf(0),
        count: (_c, of, _n, period) =>
          counts[(('event' in of ? of.event.length : 1) % 2) + (period === 'current' ? 0 : 2)]!,
        lastSeen: () => seen,
        knownSince: () => m.at - 300 * 86_400_000,
      };
      for (const c of conditions) {
        const h = holds(c, 'x', m, view, undefined);
        expect(h).toBe(judge(c, 'x', m, view, undefined).met);
        if (h) fired++;
      }
    }
    expect(fired).toBeGreaterThan(1000);
  });
});
