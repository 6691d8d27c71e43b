/**
 * Each condition's verdict for one client at one evaluation time, with everything that
 * explains it: the observed values, the threshold, and the window bounds. An alert carries
 * these verbatim, so "why did this fire?" is answered by the alert itself.
 */
import { DAY_MS, type Calendar } from '../calendar.js';
import type { FigureView } from './figure-view.js';
import { subjectLabel } from './figure-view.js';
import { changePercent, periodChange } from '../period-change.js';
import { pctMore, percentMore } from '../ratios.js';
import { compare, conditionsOf, type Condition, type Playbook } from './playbook.js';

/** ISO text of the instants a midnight's verdicts share (window bounds): built once each. */
const isoCache = new Map<number, string>();
export function isoOf(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    if (isoCache.size > 4096) isoCache.clear();
    isoCache.set(ms, (s = new Date(ms).toISOString()));
  }
  return s;
}

export interface HealthReading {
  score: number;
  band: 'green' | 'yellow' | 'red';
  /** Highest score recorded over the last `days` days, before today's. */
  highestWithin(days: number): number | undefined;
}

export interface Moment {
  day: number;
  at: number;
  calendar: Calendar;
}

export interface Verdict {
  met: boolean;
  type: string;
  description: string;
  observed: Record<string, number | string | null>;
  threshold?: { op: string; value: number | string };
  window?: { from: string; to: string };
}

/** A condition judged and explained. The hot path asks `holds` first; this runs for what fires. */
export function judge(
  c: Condition,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict {
  const window = (n: number, back = 0) => ({
    from: isoOf(m.calendar.dayStart(m.day - n - back)),
    to: isoOf(m.calendar.dayStart(m.day - back)),
  });

  if ('count' in c) {
    const { windowDays: n, op, value } = c.count;
    const x = view.count(clientId, c.count, n, 'current');
    return {
      met: compare(x, op, value),
      type: 'count',
      description: `${subjectLabel(c.count)} in the last ${n} days ${op} ${value}`,
      observed: { count: x },
      threshold: { op, value },
      window: window(n),
    };
  }
  if ('activeUsers' in c) {
    const { windowDays: n, op, value } = c.activeUsers;
    const x = view.activeUsers(clientId, n, 'current');
    return {
      met: compare(x, op, value),
      type: 'activeUsers',
      description: `active users in the last ${n} days ${op} ${value}`,
      observed: { activeUsers: x },
      threshold: { op, value },
      window: window(n),
    };
  }
  if ('change' in c) {
    const { windowDays: n, mode, op, value } = c.change;
    const current = view.count(clientId, c.change, n, 'current');
    const previous = view.count(clientId, c.change, n, 'previous');
    const { change, changePct } = periodChange(current, previous);
    return {
      met: changeHolds(change, changePct, current, c.change),
      type: 'change',
      description: `${subjectLabel(c.change)}: change over the last ${n} days vs the ${n} before ${op} ${value}${mode === 'percent' ? '%' : ''}`,
      observed: { current, previous, change, changePct: mode === 'percent' ? changePct : null },
      threshold: { op, value },
      window: { from: window(n, n).from, to: window(n).to },
    };
  }
  if ('ratio' in c) return judgeRatio(c.ratio, clientId, view, window(c.ratio.windowDays));
  if ('inactivity' in c) {
    const { moreThanDays: n } = c.inactivity;
    const last = view.lastSeen(clientId, c.inactivity);
    const since = last ?? view.knownSince(clientId);
    const idleMs = since === undefined ? null : m.at - since;
    return {
      // "More than N days": exactly N × 24 h does not fire.
      met: idleMs !== null && idleMs > n * DAY_MS,
      type: 'inactivity',
      description: `no ${subjectLabel(c.inactivity)} for more than ${n} days`,
      observed: {
        lastSeenAt: last === undefined ? null : new Date(last).toISOString(),
        idleDays: idleMs === null ? null : Math.round((idleMs / DAY_MS) * 100) / 100,
      },
      threshold: { op: '>', value: n },
    };
  }
  if ('metric' in c) {
    const { name, aggregate, windowDays: n, op, value } = c.metric;
    const a = view.metric(clientId, name, n);
    const x =
      aggregate === 'sum'
        ? a.sum
        : aggregate === 'count'
          ? a.count
          : aggregate === 'avg'
            ? a.count === 0
              ? null
              : a.sum / a.count
            : a.last;
    return {
      met: x !== null && compare(x, op, value),
      type: 'metric',
      description: `${aggregate} of ${name} over the last ${n} days ${op} ${value}`,
      observed: { [aggregate]: x, count: a.count },
      threshold: { op, value },
      window: window(n),
    };
  }
  const h = c.health;
  if (!health)
    return { met: false, type: 'health', description: 'health score', observed: { score: null } };
  if ('score' in h)
    return {
      met: compare(health.score, h.score.op, h.score.value),
      type: 'health',
      description: `health score ${h.score.op} ${h.score.value}`,
      observed: { score: health.score },
      threshold: { op: h.score.op, value: h.score.value },
    };
  if ('band' in h)
    return {
      met: health.band === h.band,
      type: 'health',
      description: `health band is ${h.band}`,
      observed: { band: health.band, score: health.score },
      threshold: { op: '=', value: h.band },
    };
  const highest = health.highestWithin(h.drop.withinDays);
  const drop = highest === undefined ? 0 : highest - health.score;
  return {
    met: drop >= h.drop.points,
    type: 'health',
    description: `health score dropped ${h.drop.points}+ points within ${h.drop.withinDays} days`,
    observed: { score: health.score, highest: highest ?? null, drop },
    threshold: { op: '>=', value: h.drop.points },
    window: window(h.drop.withinDays),
  };
}

/**
 * `judge(...).met` without building anything: the hot path, since most clients do not
 * fire. Per-user ratios and health conditions are rare and simply ask `judge`.
 */
export function holds(
  c: Condition,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): boolean {
  if ('count' in c)
    return compare(
      view.count(clientId, c.count, c.count.windowDays, 'current'),
      c.count.op,
      c.count.value,
    );
  if ('change' in c) {
    const n = c.change.windowDays;
    const current = view.count(clientId, c.change, n, 'current');
    const previous = view.count(clientId, c.change, n, 'previous');
    return changeHolds(current - previous, changePercent(current, previous), current, c.change);
  }
  if ('inactivity' in c) {
    const since = view.lastSeen(clientId, c.inactivity) ?? view.knownSince(clientId);
    return since !== undefined && m.at - since > c.inactivity.moreThanDays * DAY_MS;
  }
  if ('ratio' in c && (c.ratio.scope ?? 'client') === 'client') {
    const r = c.ratio;
    const a = view.count(clientId, { event: r.a }, r.windowDays, 'current');
    const b = view.count(clientId, { event: r.b }, r.windowDays, 'current');
    return ratioHolds(a, b, r);
  }
  if ('activeUsers' in c)
    return compare(
      view.activeUsers(clientId, c.activeUsers.windowDays, 'current'),
      c.activeUsers.op,
      c.activeUsers.value,
    );
  return judge(c, clientId, m, view, health).met;
}

type ChangeCondition = Extract<Condition, { change: unknown }>['change'];
type RatioCondition = Extract<Condition, { ratio: unknown }>['ratio'];

/** A percent change from 0 is undefined: it fires only if the playbook asks (`whenPreviousZero`). */
function changeHolds(
  change: number,
  changePct: number | null,
  current: number,
  c: ChangeCondition,
): boolean {
  if (c.mode === 'absolute') return compare(change, c.op, c.value);
  if (changePct === null) return c.whenPreviousZero === 'fire' && current > 0;
  return compare(changePct, c.op, c.value);
}

function ratioHolds(a: number, b: number, r: RatioCondition): boolean {
  if (a + b < (r.minVolume ?? 0)) return false;
  const p = pctMore(a, b);
  if (p === null) return false;
  // B = 0 < A: infinitely more, above any finite threshold.
  if (p === Infinity) return r.op === '>' || r.op === '>=' || r.op === '!=';
  return compare(p, r.op, r.value);
}

function judgeRatio(
  r: RatioCondition,
  clientId: string,
  view: FigureView,
  window: { from: string; to: string },
): Verdict {
  const scope = r.scope ?? 'client';
  const min = r.minVolume ?? 0;
  const holds = (a: number, b: number) => ratioHolds(a, b, r);
  const description = `${r.a} used more than ${r.b} by ${r.op} ${r.value}% over the last ${r.windowDays} days${scope === 'client' ? '' : ` (${scope === 'anyUser' ? 'any user' : `${r.share ?? 50}% of users`})`}`;
  if (scope === 'client') {
    const a = view.count(clientId, { event: r.a }, r.windowDays, 'current');
    const b = view.count(clientId, { event: r.b }, r.windowDays, 'current');
    const p = percentMore(a, b);
    return {
      met: holds(a, b),
      type: 'ratio',
      description,
      observed: { a, b, pctMore: p.state === 'infinite' ? 'infinite' : p.percentMore },
      threshold: { op: r.op, value: r.value },
      window,
    };
  }
  const users = view.users(clientId, r.pair ?? `${r.a}_vs_${r.b}`, r.windowDays);
  const considered = users.filter((u) => u.a + u.b >= min);
  const holding = considered.filter((u) => holds(u.a, u.b));
  const share = considered.length === 0 ? 0 : (holding.length / considered.length) * 100;
  return {
    met:
      scope === 'anyUser' ? holding.length > 0 : considered.length > 0 && share >= (r.share ?? 50),
    type: 'ratio',
    description,
    observed: {
      users: considered.length,
      usersHolding: holding.length,
      sharePct: Math.round(share * 100) / 100,
      example: holding[0] ? `${holding[0].userId}: ${holding[0].a} vs ${holding[0].b}` : null,
    },
    threshold: { op: r.op, value: r.value },
    window,
  };
}

/** Whether a playbook's conditions hold for a client (all or any), stopping early. */
export function playbookHolds(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): boolean {
  const conditions = conditionsOf(p);
  const every = 'all' in p.when;
  for (let i = 0; i < conditions.length; i++) {
    const v = holds(conditions[i]!, clientId, m, view, health);
    if (every ? !v : v) return !every;
  }
  return every;
}

/** Every condition of a playbook judged and explained: what an alert carries. */
export function explain(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict[] {
  return conditionsOf(p).map((c) => judge(c, clientId, m, view, health));
}

/** The explained verdicts if the playbook's conditions hold; undefined if not. */
export function verdictsOf(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict[] | undefined {
  return playbookHolds(p, clientId, m, view, health)
    ? explain(p, clientId, m, view, health)
    : undefined;
}
