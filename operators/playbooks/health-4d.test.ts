/**
 * Health across the seeds' four dimensions: survey answers (NPS, CSAT) from metric events,
 * tickets by severity and their resolution time, numeric client attributes, and the
 * shipped four-dimension model (deploy/health-4d.yaml) over a generated stream against an
 * independent computation from the raw events.
 */
import { describe, expect, it } from 'vitest';
import { MetricAggregates } from '../metric-aggregates.js';
import { componentScores, type HealthConfig } from './health.js';
import type { FigureView } from './figure-view.js';
import { ev, spec } from '../../test/fixtures/events.js';
import { random } from '../../test/fixtures/reference.js';
import { fourDimensionHealth, of, RulesHarness } from '../../test/fixtures/rules.js';
import type { TrackingEvent } from '../../schemas/types.js';

const DAY = 86_400_000;
const D0 = Date.parse('2026-03-01T00:00:00Z');

/** Metric answers fed to the operator, then its figures over the last 30 days at day 40. */
function figuresOf(values: number[]) {
  const m = new MetricAggregates(spec('UTC'));
  const events = values.map((v, i) =>
    ev(D0 + i * 60_000, 'c', 'nps', { kind: 'metric', value: v }),
  );
  m.apply({ steps: [{ events }], tooLate: [], watermark: D0, lastSeq: 1 });
  const day = Math.floor(D0 / DAY) + 5;
  return m.aggregateOf('c', 'nps', day - 30, day);
}

describe('survey answers (seed 004 worked examples)', () => {
  it('NPS: 60% promoters, 20% passives, 20% detractors → 40', () => {
    const answers = [9, 10, 9, 10, 9, 10, 7, 8, 3, 6];
    expect(figuresOf(answers).nps).toBe(40);
    // The same shares over 100 answers, and the bounds: all promoters 100, all detractors −100.
    expect(
      figuresOf(Array.from({ length: 100 }, (_, i) => (i < 60 ? 9 : i < 80 ? 8 : 0))).nps,
    ).toBe(40);
    expect(figuresOf([10, 9]).nps).toBe(100);
    expect(figuresOf([0, 6]).nps).toBe(-100);
  });

  it('CSAT: 80 of 100 answers at 4–5 → 80%', () => {
    const answers = Array.from({ length: 100 }, (_, i) =>
      i < 50 ? 5 : i < 80 ? 4 : i < 90 ? 3 : 1,
    );
    expect(figuresOf(answers).csat).toBe(80);
  });

  it('values that are not answers count for sum and avg only: NPS over 0–10 integers, CSAT over 1–5', () => {
    const f = figuresOf([9.5, 42, -1, 10, 0, 2]);
    expect(f.count).toBe(6);
    // 10 (promoter), 0 and 2 (detractors): (1 − 2) / 3.
    expect(f.nps).toBe(-33.33);
    // 2 is an answer on 1–5 (not satisfied); 10 and 0 are not.
    expect(f.csat).toBe(0);
    expect(figuresOf([]).nps).toBeNull();
  });
});

/** A view of fixed figures: counts by event name, metrics by name, attributes. */
function fixedView(o: {
  counts?: Record<string, number>;
  nps?: number | null;
  attributes?: Record<string, number>;
}): FigureView {
  return {
    count: (_c, of) => o.counts?.['event' in of ? of.event : 'kind' in of ? of.kind : '*'] ?? 0,
    activeUsers: () => 0,
    lastSeen: () => undefined,
    metric: (_c, name) => ({
      count: 1,
      sum: 0,
      last: null,
      nps: name === 'nps' ? (o.nps ?? null) : null,
      csat: null,
    }),
    users: () => [],
    attribute: (_c, name) => o.attributes?.[name],
    knownSince: () => 0,
  };
}

describe("the digest's weighted model B (seed 004): NPS 15%, critical support tickets 15%", () => {
  // AFC 40%, FUP 20%, NPS 15%, TSC 15%, QBR participation 10%, each on 0–10 points.
  const model = {
    thresholds: { green: 80, yellow: 60 },
    adjustments: { lastDays: 28, maxPoints: 30 },
    profiles: [],
    components: [
      {
        id: 'afc',
        title: 'Key-feature adoption',
        weight: 40,
        maxPoints: 10,
        missingPoints: 0,
        figure: { count: { event: 'acao:chave', windowDays: 30 } },
        bands: [
          { min: 10, points: 10 },
          { min: 5, points: 6 },
          { min: 1, points: 3 },
        ],
      },
      {
        id: 'fup',
        title: 'Platform usage frequency',
        weight: 20,
        maxPoints: 10,
        missingPoints: 0,
        figure: { count: { kind: 'login', windowDays: 7 } },
        bands: [
          { min: 5, points: 10 },
          { min: 3, points: 7 },
          { min: 1, points: 3 },
        ],
      },
      {
        id: 'nps',
        title: 'NPS',
        weight: 15,
        maxPoints: 10,
        missingPoints: 5,
        figure: { metric: { name: 'nps', aggregate: 'nps', windowDays: 30 } },
        bands: [
          { min: 50, points: 10 },
          { min: 0, points: 6 },
          { min: -100, points: 0 },
        ],
      },
      {
        id: 'tsc',
        title: 'Critical support tickets',
        weight: 15,
        maxPoints: 10,
        missingPoints: 0,
        figure: { count: { event: 'ticket:critico', windowDays: 30 } },
        bands: [
          { min: 3, points: 0 },
          { min: 1, points: 5 },
          { min: 0, points: 10 },
        ],
      },
      {
        id: 'qbr',
        title: 'QBR participation',
        weight: 10,
        maxPoints: 10,
        missingPoints: 0,
        figure: { attribute: { name: 'qbr' } },
        bands: [{ min: 1, points: 10 }],
      },
    ],
  } as unknown as HealthConfig;

  it('a client using key features, logging in 3×/week, NPS 40, 2 critical tickets, at the QBR: 80.5, green', () => {
    const view = fixedView({
      counts: { 'acao:chave': 12, login: 3, 'ticket:critico': 2 },
      nps: 40,
      attributes: { qbr: 1 },
    });
    const { base, components } = componentScores(model, 'x', view);
    // 40 × 10/10 + 20 × 7/10 + 15 × 6/10 + 15 × 5/10 + 10 × 10/10
    expect(base).toBe(80.5);
    expect(components.map((c) => [c.id, c.value, c.points, c.contribution])).toEqual([
      ['afc', 12, 10, 4],
      ['fup', 3, 7, 1.4],
      ['nps', 40, 6, 0.9],
      ['tsc', 2, 5, 0.75],
      ['qbr', 1, 10, 1],
    ]);
  });

  it('the same client with a detractor NPS and 3 critical tickets falls to yellow (64)', () => {
    const view = fixedView({
      counts: { 'acao:chave': 12, login: 3, 'ticket:critico': 3 },
      nps: -20,
      attributes: { qbr: 1 },
    });
    expect(componentScores(model, 'x', view).base).toBe(40 + 14 + 0 + 0 + 10);
  });
});

describe('health profiles: weights by lifecycle stage', () => {
  const base = fourDimensionHealth();
  // Onboarding clients: usage weighs most, billing not at all.
  const onboarding = {
    id: 'onboarding',
    when: [{ attribute: 'status', op: '=' as const, value: 'onboarding' }],
    weights: {
      login_frequency: 30,
      key_actions: 40,
      critical_tickets: 10,
      resolution_time: 0,
      payment_overdue: 0,
      mrr_trend: 0,
      renewal: 0,
      nps: 15,
      csat: 5,
    },
  };
  const model = { ...base, profiles: [onboarding] } as HealthConfig;
  const figures = () =>
    fixedView({
      counts: { login: 5, action: 2, 'ticket:critico': 0 },
      nps: 40,
      attributes: { dias_em_atraso: 40, variacao_mrr: -50, dias_para_renovacao: 10 },
    });
  const withStatus = (status: string): FigureView => {
    const v = figures();
    return { ...v, attribute: (c, n) => (n === 'status' ? status : v.attribute(c, n)) };
  };

  it('the first profile whose filters hold weighs the components; others keep the model weights', () => {
    // Points: logins 10, key actions 3, tickets 10, resolution (none) 10, overdue 0, MRR 0,
    // renewal 0, NPS 6, CSAT (none) 5.
    const on = componentScores(model, 'x', withStatus('onboarding'));
    expect(on.profile).toBe('onboarding');
    expect(on.base).toBe(30 + 12 + 10 + 0 + 0 + 0 + 0 + 9 + 2.5);
    const mature = componentScores(model, 'x', withStatus('active'));
    expect(mature.profile).toBeUndefined();
    expect(mature.base).toBe(15 + 7.5 + 15 + 5 + 0 + 0 + 0 + 9 + 2.5);
  });
});

describe('health_components: the sub-scores stored when they move', () => {
  it('every component at the first midnight, then only those whose value or points changed', () => {
    const attrs = new Map([
      ['z', { status: 'active', dias_em_atraso: 0 } as Record<string, string | number>],
    ]);
    const h = new RulesHarness(attrs, { health: fourDimensionHealth(), playbooks: [] });
    h.stage.state.know('z', D0 - DAY);
    h.feed([ev(D0 + 3_600_000, 'z', 'login')], D0 + DAY + 7_200_000);
    const first = h.stage.takeScores().find((d) => d.at === D0 + DAY)!;
    expect(first.parts!.map((p) => p.id)).toEqual(
      fourDimensionHealth().components.map((c) => c.id),
    );
    // A day later: one NPS promoter answer moves nps (null → 100); a week's logins stay 1.
    h.feed(
      [ev(D0 + DAY + 5 * 3_600_000, 'z', 'nps', { kind: 'metric', value: 10 })],
      D0 + 2 * DAY + 7_200_000,
    );
    const second = h.stage.takeScores().find((d) => d.at === D0 + 2 * DAY);
    expect(second?.parts).toEqual([{ id: 'nps', value: 100, points: 10, contribution: 1.5 }]);
  });
});

describe('the shipped four-dimension model over a generated stream', () => {
  const health = fourDimensionHealth();

  it('weights add up to 100 across usage, support, financial and sentiment', () => {
    expect(health.components.reduce((s, c) => s + c.weight, 0)).toBe(100);
    expect(health.components.map((c) => c.id)).toEqual([
      'login_frequency',
      'key_actions',
      'critical_tickets',
      'resolution_time',
      'payment_overdue',
      'mrr_trend',
      'renewal',
      'nps',
      'csat',
    ]);
  });

  it('scores and sub-scores equal an independent computation from the raw events and attributes', () => {
    const r = random(4);
    const clients = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const attrs = new Map(
      clients.map((c, i) => [
        c,
        {
          status: 'active',
          csm: 'carla@pulso.example',
          ...(i % 3 === 0 ? {} : { dias_em_atraso: Math.floor(r() * 60) }),
          ...(i % 4 === 0 ? {} : { variacao_mrr: Math.round(r() * 60 - 30) }),
          ...(i % 5 === 0 ? {} : { dias_para_renovacao: Math.floor(r() * 200) }),
        } as Record<string, string | number>,
      ]),
    );
    const T = D0 + 45 * DAY; // the midnight judged
    const events: TrackingEvent[] = [];
    for (const c of clients) {
      const n = Math.floor(r() * 80);
      for (let i = 0; i < n; i++) {
        const ts = T - 1 - Math.floor(r() * 40 * DAY);
        const x = r();
        if (x < 0.3) events.push(ev(ts, c, 'login'));
        else if (x < 0.55) events.push(ev(ts, c, 'acao:emitir_nota', { kind: 'action' }));
        else if (x < 0.65) events.push(ev(ts, c, 'ticket:critico', { kind: 'action' }));
        else if (x < 0.75)
          events.push(
            ev(ts, c, 'ticket:horas_resolucao', { kind: 'metric', value: Math.floor(r() * 100) }),
          );
        else if (x < 0.9)
          events.push(ev(ts, c, 'nps', { kind: 'metric', value: Math.floor(r() * 11) }));
        else events.push(ev(ts, c, 'csat', { kind: 'metric', value: 1 + Math.floor(r() * 5) }));
      }
    }
    const h = new RulesHarness(attrs, { health, playbooks: [] });
    for (const c of clients) h.stage.state.know(c, D0 - DAY);
    const out = h.feed(events, T + 3_600_000 * 2);
    const scored = of(out, 'health', '_score').filter((o) => o.at === T);
    // Every client's score moved at some midnight; the last change is what T says.
    const last = new Map<string, (typeof scored)[number]>();
    for (const o of of(out, 'health', '_score')) if (o.at <= T) last.set(o.clientId, o);
    expect(scored.length).toBeGreaterThan(0);
    expect([...last.keys()].sort()).toEqual([...clients].sort());

    // The independent computation: straight from the events, windows [at − N days, at).
    const points = (v: number | null, c: (typeof health.components)[number]) => {
      if (v === null) return c.missingPoints;
      for (const b of c.bands) if (v >= b.min) return b.points;
      return 0;
    };
    const pct = (x: number) => Math.round(x * 10_000) / 100;
    const independent = (c: string, at: number) => {
      const mine = events.filter((e) => e.clientId === c && e.ts < at);
      const within = (e: TrackingEvent, days: number) => e.ts >= at - days * DAY;
      const values = (name: string) =>
        mine.filter((e) => e.name === name && within(e, 30)).map((e) => e.value);
      const nps = values('nps');
      const csat = values('csat');
      const hours = values('ticket:horas_resolucao');
      const a = attrs.get(c)!;
      const want: Record<string, number | null> = {
        login_frequency: mine.filter((e) => e.kind === 'login' && within(e, 7)).length,
        key_actions: mine.filter((e) => e.kind === 'action' && within(e, 30)).length,
        critical_tickets: mine.filter((e) => e.name === 'ticket:critico' && within(e, 30)).length,
        resolution_time:
          hours.length === 0 ? null : hours.reduce((s, x) => s + x, 0) / hours.length,
        payment_overdue: (a.dias_em_atraso as number | undefined) ?? null,
        mrr_trend: (a.variacao_mrr as number | undefined) ?? null,
        renewal: (a.dias_para_renovacao as number | undefined) ?? null,
        nps:
          nps.length === 0
            ? null
            : pct(
                (nps.filter((v) => v >= 9).length - nps.filter((v) => v <= 6).length) / nps.length,
              ),
        csat: csat.length === 0 ? null : pct(csat.filter((v) => v >= 4).length / csat.length),
      };
      let base = 0;
      const components = health.components.map((k) => {
        const p = points(want[k.id]!, k);
        base += (k.weight * p) / k.maxPoints;
        return { id: k.id, value: want[k.id], points: p };
      });
      return { base: Math.round(base * 100) / 100, components };
    };
    let compared = 0;
    for (const o of of(out, 'health', '_score').filter((x) => x.at <= T)) {
      // Every change of the score, at its own midnight: the base and every sub-score.
      const want = independent(o.clientId, o.at);
      expect(o.body.base, `${o.clientId} ${o.body.at}`).toBe(want.base);
      const reason = o.body.reason as {
        components: { id: string; value: number | null; points: number }[];
      };
      expect(
        reason.components.map(({ id, value, points: p }) => ({ id, value, points: p })),
        `${o.clientId} ${o.body.at}`,
      ).toEqual(want.components);
      compared++;
    }
    expect(compared).toBeGreaterThan(clients.length);
    // And at T, every client's score is the last change's (no change: the same base).
    for (const c of clients) expect(last.get(c)!.body.base, c).toBe(independent(c, T).base);
  });
});
