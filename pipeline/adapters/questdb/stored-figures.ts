/**
 * The figures as QuestDB stored them, as of one evaluation time: the `FigureView` of a dry
 * run. Every figure table is written change-only at midnights, so "as of T" is the latest
 * row at or before T of each key (`LATEST ON`); a key without one counts zero. Client
 * attributes are the latest update before T.
 */
import type { MetricFigures } from '../../../operators/metric-aggregates.js';
import type {
  AttributeValue,
  FigureView,
  WindowPart,
} from '../../../operators/playbooks/figure-view.js';
import { activityKey } from '../../../operators/playbooks/figure-view.js';
import type { HealthReading } from '../../../operators/playbooks/conditions.js';
import { bandOf, type HealthConfig } from '../../../operators/playbooks/health.js';
import type { Activity } from '../../../operators/playbooks/playbook.js';
import type { QuestSql } from './sql.js';
import {
  CLIENT_ATTRIBUTES_TABLE,
  HEALTH_DAILY_TABLE,
  HEALTH_TABLE,
  LAST_SEEN_TABLE,
  METRICS_TABLE,
  RATIOS_TABLE,
  ROLLING_TABLE,
  USAGE_DAILY_TABLE,
} from './tables.js';

type Row = Record<string, unknown>;
const DAY = 86_400_000;
const k = (...p: unknown[]) => p.join('\u0000');

export class StoredFigures implements FigureView {
  private readonly rolling = new Map<string, [number, number]>();
  private readonly seen = new Map<string, number>();
  private readonly metrics = new Map<string, MetricFigures>();
  private readonly perUser = new Map<string, { userId: string; a: number; b: number }[]>();
  private readonly attrs = new Map<string, Map<string, AttributeValue>>();
  private readonly known = new Map<string, number>();
  private readonly scores = new Map<string, number>();
  private readonly history = new Map<string, [number, number][]>();
  /** Each client's score at each midnight of the health window (health_daily). */
  private readonly daily = new Map<string, Map<number, number>>();

  private constructor(readonly at: number) {}

  static async load(sql: QuestSql, at: number, healthDays: number): Promise<StoredFigures> {
    const v = new StoredFigures(at);
    // Times are bound, never spliced into the SQL text: $1 is the evaluation time.
    const t = '$1';
    const when = [new Date(at).toISOString()];
    const q = (s: string, params = when) => sql.query<Row>(s, params);
    for (const r of await q(
      `SELECT client_id, figure, subject, window_days, value, previous FROM ${ROLLING_TABLE} WHERE ts <= ${t} LATEST ON ts PARTITION BY client_id, figure, subject, window_days`,
    ))
      v.rolling.set(k(r.client_id, r.figure, r.subject, r.window_days), [
        Number(r.value),
        Number(r.previous),
      ]);
    for (const r of await q(
      `SELECT client_id, scope, subject, last_seen_at FROM ${LAST_SEEN_TABLE} WHERE ts <= ${t} LATEST ON ts PARTITION BY client_id, scope, subject`,
    ))
      v.seen.set(k(r.client_id, r.scope, r.subject), Number(r.last_seen_at));
    for (const r of await q(
      `SELECT client_id, name, window_days, count, sum, last, nps, csat FROM ${METRICS_TABLE} WHERE ts <= ${t} LATEST ON ts PARTITION BY client_id, name, window_days`,
    ))
      v.metrics.set(k(r.client_id, r.name, r.window_days), {
        count: Number(r.count),
        sum: Number(r.sum),
        last: r.last === null ? null : Number(r.last),
        nps: r.nps === null || r.nps === undefined ? null : Number(r.nps),
        csat: r.csat === null || r.csat === undefined ? null : Number(r.csat),
      });
    for (const r of await q(
      `SELECT client_id, user_id, pair, window_days, a, b FROM ${RATIOS_TABLE} WHERE ts <= ${t} LATEST ON ts PARTITION BY client_id, user_id, pair, window_days`,
    )) {
      if (r.user_id === '*') continue;
      const key = k(r.client_id, r.pair, r.window_days);
      const list = v.perUser.get(key) ?? [];
      if (Number(r.a) > 0 || Number(r.b) > 0)
        list.push({ userId: String(r.user_id), a: Number(r.a), b: Number(r.b) });
      v.perUser.set(key, list);
    }
    for (const r of await q(
      `SELECT * FROM ${CLIENT_ATTRIBUTES_TABLE} WHERE ts < ${t} LATEST ON ts PARTITION BY client_id`,
    )) {
      const m = new Map<string, AttributeValue>();
      for (const f of ['status', 'name', 'plan', 'segment', 'csm', 'mrr'])
        if (r[f] !== null) m.set(f, r[f] as AttributeValue);
      for (const [a, x] of Object.entries(
        JSON.parse(String(r.attributes ?? '{}')) as Record<string, AttributeValue>,
      ))
        m.set(a, x);
      v.attrs.set(String(r.client_id), m);
    }
    for (const table of [CLIENT_ATTRIBUTES_TABLE, USAGE_DAILY_TABLE])
      for (const r of await q(`SELECT client_id, min(ts) first_ts FROM ${table} WHERE ts < ${t}`)) {
        const c = String(r.client_id);
        v.known.set(c, Math.min(v.known.get(c) ?? Infinity, Number(r.first_ts)));
      }
    for (const r of await q(
      `SELECT client_id, score FROM ${HEALTH_TABLE} WHERE ts <= ${t} LATEST ON ts PARTITION BY client_id`,
    ))
      v.scores.set(String(r.client_id), Number(r.score));
    if (healthDays > 0)
      for (const r of await q(
        `SELECT client_id, ts, score FROM ${HEALTH_TABLE} WHERE ts >= $2 AND ts < $1`,
        [...when, new Date(at - healthDays * DAY).toISOString()],
      )) {
        const c = String(r.client_id);
        v.history.set(c, [...(v.history.get(c) ?? []), [Number(r.ts), Number(r.score)]]);
      }
    if (healthDays > 0)
      for (const r of await q(
        `SELECT client_id, ts, score FROM ${HEALTH_DAILY_TABLE} WHERE ts >= $2 AND ts < $1`,
        [...when, new Date(at - healthDays * DAY).toISOString()],
      )) {
        const c = String(r.client_id);
        if (!v.daily.has(c)) v.daily.set(c, new Map());
        v.daily.get(c)!.set(Number(r.ts), Number(r.score));
      }
    return v;
  }

  /** Clients known before the evaluation time, in a stable order. */
  clients(): string[] {
    return [...this.known]
      .filter(([, t]) => t < this.at)
      .map(([c]) => c)
      .sort();
  }

  health(clientId: string, h: HealthConfig): HealthReading | undefined {
    const score = this.scores.get(clientId);
    if (score === undefined) return undefined;
    const history = this.history.get(clientId) ?? [];
    return {
      score,
      band: bandOf(score, h.thresholds),
      highestWithin: (days) => {
        const from = this.at - days * DAY;
        const within = history.filter(([ts]) => ts >= from).map(([, s]) => s);
        return within.length === 0 ? undefined : Math.max(...within);
      },
      scoreDaysAgo: (days) => this.daily.get(clientId)?.get(this.at - days * DAY),
    };
  }

  count(clientId: string, of: Activity, n: number, which: WindowPart): number {
    const s = activityKey(of);
    const figure = s.scope === 'client' ? 'all' : s.scope;
    const row = this.rolling.get(k(clientId, figure, s.name, n));
    return row ? row[which === 'current' ? 0 : 1] : 0;
  }

  activeUsers(clientId: string, n: number, which: WindowPart): number {
    const row = this.rolling.get(k(clientId, 'users', 'active', n));
    return row ? row[which === 'current' ? 0 : 1] : 0;
  }

  lastSeen(clientId: string, of: Activity): number | undefined {
    const s = activityKey(of);
    return this.seen.get(k(clientId, s.scope, s.name));
  }

  metric(clientId: string, name: string, n: number) {
    return (
      this.metrics.get(k(clientId, name, n)) ?? {
        count: 0,
        sum: 0,
        last: null,
        nps: null,
        csat: null,
      }
    );
  }

  users(clientId: string, pair: string, n: number) {
    return this.perUser.get(k(clientId, pair, n)) ?? [];
  }

  attribute(clientId: string, name: string): AttributeValue | undefined {
    return this.attrs.get(clientId)?.get(name);
  }

  knownSince(clientId: string): number | undefined {
    return this.known.get(clientId);
  }
}
