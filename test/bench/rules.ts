/**
 * The rules stage's workload: 100,000 clients (9 in 10 active) with a day of sparse
 * activity before a midnight at which every shipped playbook is due (a Monday that is the
 * 1st), and the in-process measure of evaluating them there.
 */
import { Calendar } from '../../operators/calendar.js';
import { RulesStage } from '../../operators/playbooks/stage.js';
import { UsageState } from '../../operators/usage-figures.js';
import { windowSpecOf } from '../../pipeline/run.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { loadRules } from '../../pipeline/config/playbooks.js';
import type { TrackingEvent } from '../../schemas/types.js';
import { random } from '../fixtures/reference.js';
import { EVENT_NAMES, type UsageEvent } from '../fixtures/usage-stream.js';

/** Monday 2026-06-01: daily, weekly and monthly playbooks are all due at its midnight. */
export const RULES_BOUNDARY = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

export interface RulesWorkload {
  clients: {
    id: string;
    client_id: string;
    timestamp: number;
    status: string;
    csm: string;
  }[];
  events: UsageEvent[];
}

/** `eventsPerClient` on average over the day before the boundary (sparse: many fire). */
export function rulesWorkload(clients: number, eventsPerClient: number, seed = 11): RulesWorkload {
  const r = random(seed);
  const start = RULES_BOUNDARY - DAY;
  const attrs = Array.from({ length: clients }, (_, i) => ({
    id: `a${i}`,
    client_id: `c${i}`,
    timestamp: start - DAY,
    status: i % 10 === 9 ? 'cancelled' : 'active',
    csm: `csm${i % 50}@pulso.dev`,
  }));
  const events: UsageEvent[] = [];
  const n = clients * eventsPerClient;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * clients);
    const name = EVENT_NAMES[Math.floor(r() * EVENT_NAMES.length)]!;
    const kind =
      name === 'login'
        ? 'login'
        : name.startsWith('tela:')
          ? 'screen'
          : name.startsWith('acao:')
            ? 'action'
            : 'metric';
    events.push({
      id: `r${i}`,
      kind,
      name,
      client_id: `c${c}`,
      user_id: `c${c}-u${Math.floor(r() * 3)}`,
      // In time order, the last one an hour before the boundary.
      timestamp: start + Math.floor((i / n) * (DAY - 3_600_000)),
      ...(kind === 'metric' ? { value: Math.round(r() * 1000) } : {}),
    });
  }
  return { clients: attrs, events };
}

function tracking(e: UsageEvent, i: number): TrackingEvent {
  return {
    eventId: e.id,
    ts: e.timestamp,
    kind: e.kind,
    name: e.name,
    clientId: e.client_id,
    userId: e.user_id ?? null,
    value: e.value ?? 1,
    properties: null,
    receivedAt: e.timestamp,
    streamSeq: i + 1,
    index: 0,
    subject: 'tracking.events',
  };
}

export interface RulesFigures {
  clients: number;
  playbooks: number;
  evaluations: number;
  fired: number;
  outputs: number;
  boundaryMs: number;
  playbooksMs: number;
  firingMs: number;
  evaluationsPerSecond: number;
  /** Judging alone: the evaluations over the time not spent building what fired. */
  judgedPerSecond: number;
  /** One figure read per client-playbook pair (the least an evaluation can do). */
  ceilingPerSecond: number;
}

/** Folds the workload into the operators, then times the rules stage at the boundary. */
export function benchRulesInProcess(w: RulesWorkload): RulesFigures {
  const config = loadConfig({ env: {} });
  const { playbooks, health } = loadRules(config);
  const usage = new UsageState(windowSpecOf(config));
  const attrs = new Map(w.clients.map((c) => [c.client_id, c as Record<string, unknown>]));
  const stage = new RulesStage(
    usage,
    playbooks,
    health,
    (c, n) => attrs.get(c)?.[n] as string | undefined,
    undefined,
    () => performance.now(),
  );
  for (const c of w.clients) stage.state.know(c.client_id, c.timestamp);
  const evs = w.events.map(tracking);
  for (let i = 0; i < evs.length; i += 5000) {
    usage.apply({ events: evs.slice(i, i + 5000), lastSeq: i }, stage);
    stage.take(); // the midnights on the way fire too; the pipeline would publish them
  }
  // The midnight itself: a clock tick past it by the allowed lateness.
  usage.apply(
    {
      events: [],
      lastSeq: evs.length,
      clock: RULES_BOUNDARY + config.windows.allowedLatenessSeconds * 1000,
    },
    stage,
  );
  const last = stage.last!;
  const outputs = stage.take();

  const cal = new Calendar(config.windows.timeZone);
  const day = cal.dayOf(RULES_BOUNDARY);
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < playbooks.length; i++)
    for (const c of w.clients) sink += usage.rolling.countOf(c.client_id, 'all', '*', day - 7, day);
  const ceilingMs = performance.now() - t0;
  if (sink < 0) throw new Error('unreachable');
  return {
    clients: w.clients.length,
    playbooks: playbooks.length,
    evaluations: last.evaluations,
    fired: last.fired,
    outputs: outputs.length,
    boundaryMs: last.ms,
    playbooksMs: last.playbooksMs,
    firingMs: last.firingMs,
    evaluationsPerSecond: (last.evaluations / last.playbooksMs) * 1000,
    judgedPerSecond: (last.evaluations / (last.playbooksMs - last.firingMs)) * 1000,
    ceilingPerSecond: ((playbooks.length * w.clients.length) / ceilingMs) * 1000,
  };
}
