/**
 * The seeds' worked examples, run through the shipped playbooks (deploy/playbooks) and
 * health model (deploy/health.yaml) over the real operators, in event time.
 */
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { evaluatePlaybooks } from './stage.js';
import { usageFigures } from '../usage-figures.js';
import { map } from 'rxjs';
import { ev } from '../../test/fixtures/events.js';
import { of, RulesHarness, type Attributes } from '../../test/fixtures/rules.js';
import { random } from '../../test/fixtures/reference.js';
import type { TrackingEvent } from '../../schemas/types.js';

const DAY = 86_400_000;
const MON = Date.parse('2026-03-02T00:00:00Z'); // a Monday: the weekly run
const APR1 = Date.parse('2026-04-01T00:00:00Z'); // the monthly run
const active = (...ids: string[]): Attributes =>
  new Map(ids.map((id) => [id, { status: 'active', csm: `csm-${id}@pulso.dev` }]));

/** n events of `name` for a client spread over [from, to). */
function spread(
  n: number,
  client: string,
  name: string,
  from: number,
  to: number,
): TrackingEvent[] {
  return Array.from({ length: n }, (_, i) =>
    ev(from + Math.floor(((to - from) * i) / n), client, name),
  );
}

describe('TC-01 / TC-02: tela:criar_produto on a weekly run (seed 000)', () => {
  const attrs = active('A', 'B');
  attrs.set('C', { status: 'cancelled', csm: 'csm-C@pulso.dev' });
  const h = new RulesHarness(attrs);
  const week = MON - 7 * DAY;
  const out = h.feed(
    [
      ev(week + DAY, 'A', 'tela:pedidos'), // A is active but never opens the screen
      ...spread(12, 'B', 'tela:criar_produto', week, MON),
      ev(week + DAY, 'C', 'tela:pedidos'),
    ],
    MON,
  );

  it('client A (0 accesses) loses 3 points, gets the task due in 3 days, and its CSM is notified', () => {
    const [alert] = of(out, 'alert', 'criar-produto-sem-uso', 'A');
    expect(alert!.body).toMatchObject({ period: '2026-W09', at: '2026-03-02T00:00:00.000Z' });
    expect((alert!.body.conditions as unknown[])[0]).toMatchObject({
      met: true,
      observed: { count: 0 },
      threshold: { op: '=', value: 0 },
      window: { from: '2026-02-23T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' },
    });
    const [health] = of(out, 'health', 'criar-produto-sem-uso', 'A');
    expect(health!.body.change).toBe(-3);
    expect(health!.body.reason).toMatchObject({ type: 'playbook', points: -3, alertId: alert!.id });
    const [task] = of(out, 'task', 'criar-produto-sem-uso', 'A');
    expect(task!.body).toMatchObject({
      title: 'Reforçar treinamento de criação de produtos',
      dueAt: '2026-03-05T00:00:00.000Z',
      owner: 'csm-A@pulso.dev',
    });
    expect(of(out, 'notify', 'criar-produto-sem-uso', 'A')[0]!.body.csm).toBe('csm-A@pulso.dev');
    expect(of(out, 'alert', 'criar-produto-em-uso', 'A')).toHaveLength(0);
  });

  it('client B (12 accesses) does not fire; its positive twin gives +3', () => {
    expect(of(out, 'alert', 'criar-produto-sem-uso', 'B')).toHaveLength(0);
    const [health] = of(out, 'health', 'criar-produto-em-uso', 'B');
    expect(health!.body.change).toBe(3);
  });

  it('client C (cancelled) is never evaluated by a playbook filtered on active status', () => {
    expect(out.filter((o) => o.clientId === 'C' && o.kind !== 'health')).toEqual([]);
    const scores = of(out, 'health', undefined, 'C');
    expect(scores.length).toBeGreaterThan(0);
    for (const o of scores) expect(o.subject).toMatch(/^cs\.health\._score\./);
  });
});

describe('TC-03: Pedidos vs Faturamento on a monthly run (seed 001)', () => {
  const cases: [string, number, number, boolean][] = [
    ['seed', 500, 10, true], // 4900% more
    ['equal', 100, 100, false], // 0%
    ['exactly80', 180, 100, false], // exactly 80% is not "more than 80%"
    ['above80', 181, 100, true],
    ['noFaturamento', 5, 0, true], // infinitely more
    ['neither', 0, 0, false],
  ];
  const attrs = active(...cases.map((c) => c[0]));
  const from = APR1 - 30 * DAY;
  const events = cases.flatMap(([c, a, b]) => [
    ev(from, c, 'login'),
    ...spread(a, c, 'tela:pedidos', from, APR1),
    ...spread(b, c, 'tela:faturamento', from, APR1),
  ]);
  const out = new RulesHarness(attrs).feed(events, APR1, 500);

  it.each(cases)('%s: %i pedidos vs %i faturamento → fires %s', (client, _a, _b, fires) => {
    expect(of(out, 'alert', 'pedidos-vs-faturamento', client)).toHaveLength(fires ? 1 : 0);
  });

  it('the seed case: 7-day task, the risk tag, the CSM summary and a slight health drop', () => {
    const [alert] = of(out, 'alert', 'pedidos-vs-faturamento', 'seed');
    expect(alert!.body.period).toBe('2026-03');
    expect((alert!.body.conditions as { observed: unknown }[])[0]!.observed).toEqual({
      a: 500,
      b: 10,
      pctMore: 4900,
    });
    expect(of(out, 'task', 'pedidos-vs-faturamento', 'seed')[0]!.body).toMatchObject({
      title: 'Verificar se o cliente está conseguindo concluir o processo de faturamento',
      dueAt: '2026-04-08T00:00:00.000Z',
    });
    expect(of(out, 'tag', 'pedidos-vs-faturamento', 'seed')[0]!.body).toMatchObject({
      op: 'add',
      tag: 'Risco de falha no fluxo de faturamento',
      changed: true,
    });
    expect(of(out, 'notify', 'pedidos-vs-faturamento', 'seed')).toHaveLength(1);
    expect(of(out, 'health', 'pedidos-vs-faturamento', 'seed')[0]!.body.change).toBe(-1);
  });

  it('the positive twin takes the tag off balanced clients with enough volume', () => {
    expect(
      of(out, 'alert', 'pedidos-faturamento-equilibrado')
        .map((o) => o.clientId)
        .sort(),
    ).toEqual(['equal', 'exactly80']);
    expect(of(out, 'tag', 'pedidos-faturamento-equilibrado', 'equal')[0]!.body).toMatchObject({
      op: 'remove',
      changed: false,
    });
  });
});

describe('TC-04: no login for more than 5 days, checked daily (seed 002)', () => {
  const T = Date.parse('2026-03-10T00:00:00Z');
  const cases: [string, number, boolean][] = [
    ['exactly5', T - 5 * DAY, false],
    ['justOver5', T - 5 * DAY - 1, true],
    ['six', T - 6 * DAY, true],
    ['today', T - 3_600_000, false],
  ];
  const h = new RulesHarness(active(...cases.map((c) => c[0])));
  const all = h.feed(
    cases.map(([c, t]) => ev(t, c, 'login')),
    T,
  );
  const atT = all.filter((o) => o.at === T);

  it.each(cases)('%s → fires %s at the evaluation', (client, _t, fires) => {
    expect(of(atT, 'alert', 'sem-login-5-dias', client)).toHaveLength(fires ? 1 : 0);
  });

  it('a login at midnight fires 6 days later, not 5; each day once, with its CSM alert and e-mail', () => {
    const g = new RulesHarness(active('x'));
    const d0 = Date.parse('2026-05-01T00:00:00Z');
    const out = g.feed([ev(d0, 'x', 'login')], d0 + 7 * DAY);
    const fired = of(out, 'alert', 'sem-login-5-dias', 'x').map((o) =>
      new Date(o.at).toISOString(),
    );
    expect(fired).toEqual(['2026-05-07T00:00:00.000Z', '2026-05-08T00:00:00.000Z']);
    expect(of(out, 'email', 'sem-login-5-dias', 'x')[0]!.body).toMatchObject({
      template: 'sentimos-sua-falta',
    });
    expect(of(out, 'notify', 'sem-login-5-dias', 'x')).toHaveLength(2);
  });
});

describe('TC-05: reports screen untouched for 7 days (seed 002)', () => {
  const week = MON - 7 * DAY;
  const out = new RulesHarness(active('none', 'used', 'before')).feed(
    [
      ev(week + DAY, 'none', 'login'),
      ev(MON - 1, 'used', 'tela:relatorios'), // the last instant of the window
      ev(week - 1, 'before', 'tela:relatorios'), // 1 ms before it
    ],
    MON,
  );
  const atMon = out.filter((o) => o.at === MON);

  it('creates the CSM contact task when the count is 0, and not when the screen was opened', () => {
    expect(of(atMon, 'task', 'relatorios-sem-uso', 'none')[0]!.body).toMatchObject({
      title: 'Entrar em contato sobre o uso de relatórios',
      dueAt: '2026-03-07T00:00:00.000Z',
      owner: 'csm-none@pulso.dev',
    });
    expect(of(atMon, 'alert', 'relatorios-sem-uso', 'before')).toHaveLength(1);
    expect(of(atMon, 'alert', 'relatorios-sem-uso', 'used')).toHaveLength(0);
    expect(of(atMon, 'health', 'relatorios-em-uso', 'used')[0]!.body.change).toBe(1);
  });
});

describe('TC-06: usage grew 50% (seed 002)', () => {
  const from = APR1 - 60 * DAY;
  const mid = APR1 - 30 * DAY;
  const out = new RulesHarness(active('grew50', 'grew49')).feed(
    [
      ...spread(100, 'grew50', 'acao:emitir_nota', from, mid),
      ...spread(150, 'grew50', 'acao:emitir_nota', mid, APR1),
      ...spread(100, 'grew49', 'acao:emitir_nota', from, mid),
      ...spread(149, 'grew49', 'acao:emitir_nota', mid, APR1),
    ],
    APR1,
    1000,
  );

  it('100 → 150 adds health points and the "em expansão" tag; 100 → 149 does not', () => {
    expect(of(out, 'health', 'uso-em-expansao', 'grew50')[0]!.body.change).toBe(5);
    expect(of(out, 'tag', 'uso-em-expansao', 'grew50')[0]!.body).toMatchObject({
      tag: 'em expansão',
      op: 'add',
    });
    const cond = (
      of(out, 'alert', 'uso-em-expansao', 'grew50')[0]!.body.conditions as { observed: unknown }[]
    )[0];
    expect(cond!.observed).toEqual({ current: 150, previous: 100, change: 50, changePct: 50 });
    expect(of(out, 'alert', 'uso-em-expansao', 'grew49')).toHaveLength(0);
  });
});

describe('TC-07: 90 days without interaction (seed 002)', () => {
  // Mondays 2026-06-01 and 2026-06-08; the last interactions 91 and 89 days before 06-01.
  const T = Date.parse('2026-06-01T00:00:00Z');
  const out = new RulesHarness(active('idle91', 'idle89')).feed(
    [
      ev(T - 91 * DAY, 'idle91', 'acao:enviar_pedido'),
      ev(T - 89 * DAY, 'idle89', 'acao:enviar_pedido'),
    ],
    T,
  );
  const atT = out.filter((o) => o.at === T);

  it('fires the base-coverage task past 90 days, not at 89', () => {
    expect(of(atT, 'task', 'sem-interacao-90-dias', 'idle91')[0]!.body.title).toBe(
      'Tarefa de cobertura de base',
    );
    expect(of(atT, 'alert', 'sem-interacao-90-dias', 'idle89')).toHaveLength(0);
  });
});

describe('replays', () => {
  const attrs = active('a', 'b', 'c');
  const d0 = Date.parse('2026-02-01T00:00:00Z');
  const r = random(7);
  const names = [
    'login',
    'tela:criar_produto',
    'tela:pedidos',
    'tela:faturamento',
    'acao:emitir_nota',
  ];
  const events = Array.from({ length: 3000 }, () =>
    ev(d0 + Math.floor(r() * 70 * DAY), 'abc'[Math.floor(r() * 3)]!, names[Math.floor(r() * 5)]!),
  ).sort((a, b) => a.ts - b.ts);
  const end = d0 + 71 * DAY;
  const whole = new RulesHarness(attrs).feed(events, end, 3000);

  it('give the same outputs, ids and bodies, whatever the batch cut', () => {
    expect(whole.length).toBeGreaterThan(100);
    expect(new Set(whole.map((o) => o.id)).size).toBe(whole.length);
    expect(new RulesHarness(attrs).feed(events, end, 7)).toEqual(whole);
  });

  it('give the same outputs after a restore from a checkpoint, none twice', () => {
    const first = new RulesHarness(attrs);
    const before = first.feed(events.slice(0, 1500), undefined, 50);
    const resumed = new RulesHarness(attrs, { restore: first.snapshot() });
    const after = resumed.feed(events.slice(1500), end, 50);
    expect([...before, ...after]).toEqual(whole);
  });
});

describe('outputs', () => {
  it('every output of the runs above matches its JSON Schema in schemas/outputs', async () => {
    const { validateOutput, describeErrors } = await import('../../schemas/index.js');
    const d0 = Date.parse('2026-02-01T00:00:00Z');
    const r = random(9);
    const names = ['login', 'tela:criar_produto', 'tela:pedidos', 'tela:faturamento', 'acao:x'];
    const attrs = active('a', 'b', 'c', 'd');
    attrs.set('d', {
      status: 'active',
      csm: 'csm@pulso.dev',
      email: 'ti@d.com.br',
      name: 'D Ltda',
    });
    const events = Array.from({ length: 2000 }, () =>
      ev(d0 + Math.floor(r() * 80 * DAY), 'abc'[Math.floor(r() * 3)]!, names[Math.floor(r() * 5)]!),
    );
    const out = new RulesHarness(attrs).feed([...events, ev(d0, 'd', 'login')], d0 + 81 * DAY);
    const kinds = new Set(out.map((o) => o.kind));
    expect([...kinds].sort()).toEqual([
      'alert',
      'email',
      'health',
      'notify',
      'tag',
      'task',
      'task-closed',
    ]);
    for (const o of out) {
      const validate = validateOutput[o.kind]!;
      const body = JSON.parse(JSON.stringify(o.body)) as unknown;
      expect(
        validate(body),
        `${o.subject}: ${JSON.stringify(describeErrors(validate.errors, body))}`,
      ).toBe(true);
    }
  });
});

describe('task lifecycle', () => {
  it('a client that stops, then resumes using tela:criar_produto: a task, then the task closed by the twin, once each', () => {
    const attrs = active('X', 'Y');
    const h = new RulesHarness(attrs);
    const w1 = MON - 14 * DAY; // X uses the screen in week 1, not in week 2, again in week 3
    const out = h.feed(
      [
        ...spread(3, 'X', 'tela:criar_produto', w1, w1 + 7 * DAY),
        ev(w1 + 8 * DAY, 'X', 'tela:pedidos'),
        ...spread(2, 'X', 'tela:criar_produto', MON, MON + 7 * DAY),
        ev(w1, 'Y', 'tela:pedidos'), // Y never uses it: its tasks stay open
      ],
      MON + 7 * DAY + 3_600_000,
    );
    const [task] = of(out, 'task', 'criar-produto-sem-uso', 'X');
    expect(task!.body.period).toBe('2026-W09');
    expect(of(out, 'task', 'criar-produto-sem-uso', 'X')).toHaveLength(1);
    const closed = of(out, 'task-closed', 'criar-produto-sem-uso', 'X');
    expect(closed.map((c) => c.body)).toEqual([
      {
        id: `closed/${task!.id}`,
        taskId: task!.id,
        playbook: 'criar-produto-sem-uso',
        clientId: 'X',
        period: '2026-W09',
        at: '2026-03-09T00:00:00.000Z',
        reason: 'twin',
        by: 'alert/criar-produto-em-uso/X/2026-W10',
        title: 'Reforçar treinamento de criação de produtos',
        dueAt: '2026-03-05T00:00:00.000Z',
        owner: 'csm-X@pulso.dev',
      },
    ]);
    expect(closed[0]!.subject).toBe('cs.task.closed.criar-produto-sem-uso.X');
    // Its twin's alert is in the same run, before the closing.
    const twin = out.findIndex((o) => o.id === 'alert/criar-produto-em-uso/X/2026-W10');
    expect(twin).toBeGreaterThanOrEqual(0);
    expect(out.indexOf(closed[0]!)).toBeGreaterThan(twin);
    // Y's tasks (weeks 9 and 10) stay open: its twin never fired.
    expect(of(out, 'task', 'criar-produto-sem-uso', 'Y').length).toBeGreaterThanOrEqual(2);
    expect(of(out, 'task-closed', undefined, 'Y')).toEqual([]);
    // A replay of the same stream gives the same outputs, ids and all.
    const again = new RulesHarness(attrs).feed(
      [
        ...spread(3, 'X', 'tela:criar_produto', w1, w1 + 7 * DAY),
        ev(w1 + 8 * DAY, 'X', 'tela:pedidos'),
        ...spread(2, 'X', 'tela:criar_produto', MON, MON + 7 * DAY),
        ev(w1, 'Y', 'tela:pedidos'),
      ],
      MON + 7 * DAY + 3_600_000,
    );
    expect(again.map((o) => o.id)).toEqual(out.map((o) => o.id));
  });

  it("a CS tool's words are kept only for open tasks, once each: a flood of them holds nothing", () => {
    const h = new RulesHarness(active('Y'));
    h.feed([ev(MON - 14 * DAY, 'Y', 'tela:pedidos')], MON + 3_600_000);
    const [task] = of(h.outputs, 'task', 'criar-produto-sem-uso', 'Y');
    const word = (taskId: string, status: 'done' | 'cancelled', i: number) => ({
      updateId: `u${i}`,
      ts: MON + 7_200_000,
      taskId,
      clientId: 'Y',
      status,
      by: null,
      streamSeq: i,
      index: 0,
    });
    for (let i = 0; i < 1000; i++)
      h.stage.state.queueTaskUpdate(word(`task/nao/Y/${i}/0`, 'done', i));
    h.stage.state.queueTaskUpdate(word(task!.id, 'done', 1001));
    h.stage.state.queueTaskUpdate(word(task!.id, 'cancelled', 1002));
    expect(h.stage.state.snapshot().taskUpdates!.map((u) => [u.taskId, u.status])).toEqual([
      [task!.id, 'done'],
    ]);
    const out = h.feed([], MON + DAY + 3_600_000);
    expect(
      of(out, 'task-closed', undefined, 'Y').map((c) => [c.body.taskId, c.body.reason]),
    ).toEqual([[task!.id, 'done']]);
  });

  it('closeWhen recovered: the next run where the condition no longer holds closes the task', () => {
    const attrs = active('Z');
    const h = new RulesHarness(attrs);
    // Activity, then 91 days of silence (the 90-day task), then activity again.
    const d0 = Date.parse('2025-11-03T10:00:00Z');
    const out = h.feed([ev(d0, 'Z', 'login'), ev(d0 + 98 * DAY, 'Z', 'login')], d0 + 112 * DAY);
    const tasks = of(out, 'task', 'sem-interacao-90-dias', 'Z');
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    const closed = of(out, 'task-closed', 'sem-interacao-90-dias', 'Z');
    expect(closed.map((c) => c.body.taskId)).toEqual(tasks.map((t) => t.id));
    expect(closed.map((c) => c.body.reason)).toEqual(tasks.map(() => 'recovered'));
    // Closed at the first weekly run after the login of day 98.
    expect(new Set(closed.map((c) => c.body.at)).size).toBe(1);
    expect(Date.parse(closed[0]!.body.at)).toBeGreaterThan(d0 + 98 * DAY);
    expect(Date.parse(closed[0]!.body.at)).toBeLessThanOrEqual(d0 + 98 * DAY + 7 * DAY);
  });
});

describe('evaluatePlaybooks (RxJS)', () => {
  it('emits per batch the outputs of the midnights it crossed, and [] when it crossed none', () => {
    const attrs = active('x');
    const reference = new RulesHarness(attrs).feed([ev(MON - 2 * DAY, 'x', 'login')], MON + DAY);
    const h = new RulesHarness(attrs);
    const a = { events: [ev(MON - 2 * DAY, 'x', 'login')], lastSeq: 1 };
    const b = { events: [], lastSeq: 2, clock: MON - DAY + 3600_000 }; // passes one midnight
    const c = { events: [], lastSeq: 3, clock: MON + DAY }; // passes two more
    new TestScheduler((x, y) => expect(x).toEqual(y)).run(({ cold, expectObservable }) => {
      const judged = cold('a-b-c|', { a, b, c }).pipe(
        usageFigures(h.usage, h.stage),
        evaluatePlaybooks(h.stage),
        map((x) => x.outputs),
      );
      expectObservable(judged).toBe('x-y-z|', {
        x: [],
        y: reference.filter((o) => o.at === MON - DAY),
        z: reference.filter((o) => o.at >= MON),
      });
    });
    expect(reference.filter((o) => o.at >= MON).map((o) => o.subject)).toContain(
      'cs.alert.criar-produto-sem-uso.x',
    );
  });
});
