/**
 * The rules stage: at every local midnight the watermark passes, it scores every known
 * client's health, then runs the playbooks due at that midnight over every client their
 * filters admit, and returns what fired as `Output`s (alerts, health changes, tasks, tags,
 * notifications, e-mails, webhook calls).
 *
 * Pure and deterministic: the verdicts depend only on the figures as of the midnight (the
 * `FigureView`), the client attributes and this state, all of which follow the stream, so a
 * replay reproduces every output with the same id. A client is evaluated once it is known
 * (first event or attribute update) before the midnight.
 */
import type { TrackingEvent } from '../../schemas/types.js';
import { Calendar, DAY_MS } from '../calendar.js';
import type { Boundary } from '../usage-figures.js';
import {
  explain,
  isoOf,
  playbookHolds,
  type HealthReading,
  type Moment,
  type Verdict,
} from './conditions.js';
import { admitted } from './filters.js';
import type { FigureView } from './figure-view.js';
import {
  bandOf,
  ClientHealth,
  componentScores,
  type ComponentScore,
  type HealthConfig,
} from './health.js';
import {
  outputId,
  type Output,
  type OutputKind,
  SCORE_SOURCE,
  subjectOf,
  subjectOfTokens,
  token,
} from './outputs.js';
import type { Playbook } from './playbook.js';
import { compileConditions } from './conditions/index.js';
import { isDue, periodOf } from './schedule.js';

interface ClientRecord {
  knownSince: number;
  health: ClientHealth;
  tags: Set<string>;
  /** Playbook id → day it last fired (continuous playbooks' cooldown). */
  fired: Map<string, number>;
}

export interface RulesSnapshot {
  clients: {
    id: string;
    knownSince: number;
    base: number;
    score: number | null;
    adjustments: [number, number][];
    history: [number, number][];
    tags: string[];
    fired: [string, number][];
  }[];
}

export interface EvaluationStats {
  clients: number;
  /** Client × playbook pairs whose conditions were judged. */
  evaluations: number;
  fired: number;
  /** Time the last midnight spent in playbooks (judging and firing), ms. */
  playbooksMs: number;
  /** Of which explaining the firings and building their outputs, ms. */
  firingMs: number;
}

/** Playbooks with a health condition: the others skip building a health reading. */
const usesHealth = new WeakSet<Playbook>();

/** A client's score at a midnight, for the daily health table (not published). */
export interface DailyScore {
  at: number;
  clientId: string;
  score: number;
  band: 'green' | 'yellow' | 'red';
}

export class Rules {
  private readonly clients = new Map<string, ClientRecord>();
  /** Every known client's score at each midnight evaluated, until taken. */
  scores: DailyScore[] = [];
  private readonly historyDays: number;
  readonly stats: EvaluationStats = {
    clients: 0,
    evaluations: 0,
    fired: 0,
    playbooksMs: 0,
    firingMs: 0,
  };

  constructor(
    readonly playbooks: Playbook[],
    readonly health: HealthConfig,
    private readonly calendar: Calendar,
    snapshot?: RulesSnapshot,
    /** A stopwatch (ms) for the stats' timings, given by the pipeline; none: not timed. */
    private readonly now: () => number = () => 0,
  ) {
    let longest = 0;
    for (const p of playbooks)
      for (const c of compileConditions(p)) {
        if (c.kind !== 'health') continue;
        usesHealth.add(p);
        if ('drop' in c.spec) longest = Math.max(longest, c.spec.drop.withinDays);
      }
    this.historyDays = longest;
    for (const c of snapshot?.clients ?? []) {
      const h = new ClientHealth();
      h.base = c.base;
      h.score = c.score;
      h.adjustments = c.adjustments;
      h.history = c.history;
      this.clients.set(c.id, {
        knownSince: c.knownSince,
        health: h,
        tags: new Set(c.tags),
        fired: new Map(c.fired),
      });
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Accepted events, in stream order: makes their clients known. */
  observe(events: readonly TrackingEvent[]): void {
    for (const e of events) this.know(e.clientId, e.ts);
  }

  /** A client attribute update, in stream order. */
  know(clientId: string, ts: number): void {
    const r = this.clients.get(clientId);
    if (!r)
      this.clients.set(clientId, {
        knownSince: ts,
        health: new ClientHealth(),
        tags: new Set(),
        fired: new Map(),
      });
    else if (ts < r.knownSince) r.knownSince = ts;
  }

  knownSince(clientId: string): number | undefined {
    return this.clients.get(clientId)?.knownSince;
  }

  /** Everything that happens at the midnight `b`, in a deterministic order. */
  evaluate(b: Boundary, view: FigureView): Output[] {
    const out: Output[] = [];
    const m: Moment = { day: b.day, at: b.at, calendar: this.calendar };
    const adj = this.health.adjustments;
    const known: [string, ClientRecord][] = [];
    for (const entry of this.clients) if (entry[1].knownSince < b.at) known.push(entry);
    this.stats.clients = known.length;

    for (const [clientId, r] of known) {
      const { base, components } = componentScores(this.health, clientId, view);
      r.health.base = base;
      const after = r.health.scoreAt(b.day, adj);
      if (after !== r.health.score)
        out.push(
          this.healthChange(m, clientId, r, after, SCORE_SOURCE, Calendar.isoDate(b.day - 1), {
            type: 'components',
            components,
          }),
        );
    }

    // Client by client, every due playbook: the figures of one client are resolved once.
    const t1 = this.now();
    let firingMs = 0;
    const due = this.playbooks
      .filter((p) => isDue(p.schedule, b.day))
      .map((p) => ({ p, period: periodOf(p.schedule, b.day) }));
    for (const [clientId, r] of known) {
      for (const { p, period } of due) {
        if (!admitted(p, clientId, view)) continue;
        if (p.schedule.every === 'continuous') {
          const last = r.fired.get(p.id);
          if (last !== undefined && b.day - last < p.schedule.cooldownDays) continue;
        }
        this.stats.evaluations++;
        const reading = usesHealth.has(p) ? this.reading(r, b.day) : undefined;
        if (!playbookHolds(p, clientId, m, view, reading)) continue;
        const f0 = this.now();
        this.stats.fired++;
        r.fired.set(p.id, b.day);
        this.fire(p, period, m, clientId, r, explain(p, clientId, m, view, reading), view, out);
        firingMs += this.now() - f0;
      }
    }
    this.stats.playbooksMs = this.now() - t1;
    this.stats.firingMs = firingMs;
    for (const [clientId, r] of known) {
      const s = r.health.score;
      if (s !== null) {
        r.health.history.push([b.day, s]);
        this.scores.push({ at: b.at, clientId, score: s, band: bandOf(s, this.health.thresholds) });
      }
      r.health.trim(b.day, adj, this.historyDays);
    }
    return out;
  }

  private reading(r: ClientRecord, day: number): HealthReading | undefined {
    const score = r.health.score;
    if (score === null) return undefined;
    return {
      score,
      band: bandOf(score, this.health.thresholds),
      highestWithin: (days) => r.health.highestWithin(day, days),
    };
  }

  private fire(
    p: Playbook,
    period: string,
    m: Moment,
    clientId: string,
    r: ClientRecord,
    verdicts: Verdict[],
    view: FigureView,
    out: Output[],
  ): void {
    const alertId = outputId('alert', p.id, clientId, period);
    const csm = view.attribute(clientId, 'csm') ?? null;
    const actions: Record<string, unknown>[] = [];
    const emitted: Output[] = [];
    // What the CSM notification and the health reason both quote.
    const evidence = verdicts.map((v) => ({ description: v.description, observed: v.observed }));
    // Playbook ids are subject tokens already (schemas/playbook.schema.json).
    const client = token(clientId);
    const emit = (kind: OutputKind, i: number, body: Record<string, unknown>) => {
      const id = outputId(kind, p.id, clientId, period, String(i));
      const o: Output = {
        kind,
        subject: subjectOfTokens(kind, p.id, client),
        id,
        at: m.at,
        clientId,
        body: { id, alertId, playbook: p.id, clientId, period, at: isoOf(m.at), ...body },
      };
      emitted.push(o);
      actions.push({ kind, id, ...summaryOf(kind, body) });
    };
    p.actions.forEach((a, i) => {
      if ('health' in a) {
        r.health.adjustments.push([m.day, a.health]);
        const after = r.health.scoreAt(m.day, this.health.adjustments);
        const change = this.healthChange(
          m,
          clientId,
          r,
          after,
          p.id,
          period,
          {
            type: 'playbook',
            playbook: p.id,
            alertId,
            points: a.health,
            conditions: evidence,
          },
          String(i),
        );
        emitted.push(change);
        actions.push({
          kind: 'health',
          id: change.id,
          points: a.health,
          before: change.body.before,
          after,
        });
      } else if ('task' in a)
        emit('task', i, {
          title: a.task.title,
          description: a.task.description ?? p.description,
          dueAt: isoOf(m.at + a.task.dueInDays * DAY_MS),
          owner: csm,
        });
      else if ('tag' in a) {
        const add = 'add' in a.tag;
        const tag = 'add' in a.tag ? a.tag.add : a.tag.remove;
        const changed = add ? !r.tags.has(tag) : r.tags.has(tag);
        if (add) r.tags.add(tag);
        else r.tags.delete(tag);
        emit('tag', i, { op: add ? 'add' : 'remove', tag, changed, tags: [...r.tags].sort() });
      } else if ('notifyCsm' in a)
        emit('notify', i, {
          csm,
          title: p.title,
          message: a.notifyCsm.message,
          summary: evidence,
        });
      else if ('email' in a)
        emit('email', i, {
          to: view.attribute(clientId, 'email') ?? null,
          template: a.email.template,
          subject: a.email.subject,
          variables: {
            clientName: view.attribute(clientId, 'name') ?? clientId,
            playbook: p.title,
          },
        });
      else emit('webhook', i, { url: a.webhook.url, secretEnv: a.webhook.secretEnv ?? null });
    });
    out.push({
      kind: 'alert',
      subject: subjectOfTokens('alert', p.id, client),
      id: alertId,
      at: m.at,
      clientId,
      body: {
        id: alertId,
        playbook: { id: p.id, title: p.title, category: p.category },
        clientId,
        period,
        at: isoOf(m.at),
        schedule: p.schedule.every,
        conditions: verdicts,
        actions,
      },
    });
    for (const o of emitted) {
      // A webhook carries the alert it reports.
      if (o.kind === 'webhook') o.body.alert = out[out.length - 1]!.body;
      out.push(o);
    }
  }

  private healthChange(
    m: Moment,
    clientId: string,
    r: ClientRecord,
    after: number,
    source: string,
    period: string,
    reason: Record<string, unknown> & { components?: ComponentScore[] },
    part = '',
  ): Output {
    const before = r.health.score;
    r.health.score = after;
    const id = outputId('health', source, clientId, period, ...(part === '' ? [] : [part]));
    const t = this.health.thresholds;
    return {
      kind: 'health',
      subject: subjectOf('health', source, clientId),
      id,
      at: m.at,
      clientId,
      body: {
        id,
        clientId,
        at: isoOf(m.at),
        period,
        before,
        after,
        change: before === null ? null : Math.round((after - before) * 100) / 100,
        bandBefore: before === null ? null : bandOf(before, t),
        bandAfter: bandOf(after, t),
        base: r.health.base,
        adjustment: r.health.adjustment(m.day, this.health.adjustments),
        reason,
      },
    };
  }

  snapshot(): RulesSnapshot {
    return {
      clients: [...this.clients].map(([id, r]) => ({
        id,
        knownSince: r.knownSince,
        base: r.health.base,
        score: r.health.score,
        adjustments: r.health.adjustments,
        history: r.health.history,
        tags: [...r.tags],
        fired: [...r.fired],
      })),
    };
  }
}

function summaryOf(kind: OutputKind, body: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'task':
      return { title: body.title, dueAt: body.dueAt, owner: body.owner };
    case 'tag':
      return { op: body.op, tag: body.tag };
    case 'notify':
      return { csm: body.csm };
    case 'email':
      return { to: body.to, template: body.template };
    case 'webhook':
      return { url: body.url };
    default:
      return {};
  }
}
