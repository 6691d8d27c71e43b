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
import type { TaskUpdate, TrackingEvent } from '../../schemas/types.js';
import { Calendar, DAY_MS } from '../calendar.js';
import type { Boundary } from '../usage-figures.js';
import {
  explain,
  isoOf,
  conditionsHold,
  type HealthReading,
  type Moment,
  type Verdict,
} from './conditions.js';
import { admitted } from './filters.js';
import type { FigureView } from './figure-view.js';
import {
  type Band,
  bandOf,
  ClientHealth,
  componentScores,
  type ComponentScore,
  type HealthConfig,
} from './health.js';
import {
  alertOutput,
  emailOutput,
  firingOf,
  healthOutput,
  notifyOutput,
  type OpenTask,
  type Output,
  type OutputOf,
  SCORE_SOURCE,
  tagOutput,
  taskClosedOutput,
  taskOutput,
  webhookOutput,
} from './outputs.js';
import type { AlertBody } from '../../schemas/generated/outputs/alert.js';
import type { HealthBody } from '../../schemas/generated/outputs/health.js';
import type { AttributeValue } from './figure-view.js';
import type { Playbook } from './playbook.js';
import { compileConditions } from './conditions/index.js';
import { isDue, periodOf } from './schedule.js';

interface ClientRecord {
  knownSince: number;
  health: ClientHealth;
  tags: Set<string>;
  /** Playbook id → day it last fired (continuous playbooks' cooldown). */
  fired: Map<string, number>;
  /** Playbook id → the tasks it opened that are still open, oldest first. */
  tasks: Map<string, OpenTask[]>;
}

export interface RulesSnapshot {
  clients: {
    id: string;
    knownSince: number;
    base: number;
    score: number | null;
    adjustments: [number, number][];
    history: [number, number][];
    /** Each component's last [value, points] (absent in older checkpoints). */
    parts?: [number | null, number][];
    tags: string[];
    fired: [string, number][];
    /** Absent in checkpoints from before tasks had a lifecycle. */
    tasks?: [string, OpenTask[]][];
  }[];
  /** CS tools' words on tasks not yet taken (the next midnight takes them). */
  taskUpdates?: TaskUpdate[];
}

/** Open tasks kept per client and playbook: older ones can then only be closed by a person. */
export const OPEN_TASKS_KEPT = 20;

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
  band: Band;
  /** The components whose value or points changed since the midnight before (health_components). */
  parts?: ComponentScore[];
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
        if ('trend' in c.spec) longest = Math.max(longest, c.spec.trend.days);
      }
    this.historyDays = longest;
    this.taskUpdates = [...(snapshot?.taskUpdates ?? [])];
    for (const c of snapshot?.clients ?? []) {
      const h = new ClientHealth();
      h.base = c.base;
      h.score = c.score;
      h.adjustments = c.adjustments;
      h.history = c.history;
      h.parts = c.parts ?? [];
      this.clients.set(c.id, {
        knownSince: c.knownSince,
        health: h,
        tags: new Set(c.tags),
        fired: new Map(c.fired),
        tasks: new Map(c.tasks ?? []),
      });
    }
    // Playbook id → the playbooks whose tasks its firing closes (it is their twin).
    for (const p of playbooks)
      if (p.closeWhen === 'twin' && p.twin)
        this.closedBy.set(p.twin, [...(this.closedBy.get(p.twin) ?? []), p.id]);
  }

  private readonly closedBy = new Map<string, string[]>();
  /** CS tools' words on tasks, in stream order, until the next midnight. */
  private taskUpdates: TaskUpdate[] = [];

  /**
   * A CS tool says a task is done or cancelled: taken at the next midnight's run. Only a task
   * open now can be closed then (tasks open at midnights), so the queue holds at most one
   * word per open task, whatever a tool sends.
   */
  queueTaskUpdate(u: TaskUpdate): void {
    const open = this.clients.get(u.clientId)?.tasks;
    if (!open || ![...open.values()].some((ts) => ts.some((t) => t.id === u.taskId))) return;
    if (this.taskUpdates.some((q) => q.taskId === u.taskId && q.clientId === u.clientId)) return;
    this.taskUpdates.push(u);
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
        tasks: new Map(),
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

    // What CS tools closed since the last midnight, in stream order.
    for (const u of this.taskUpdates.splice(0)) {
      const r = this.clients.get(u.clientId);
      for (const [playbook, open] of r?.tasks ?? []) {
        const i = open.findIndex((t) => t.id === u.taskId);
        if (i < 0) continue;
        const [task] = open.splice(i, 1);
        if (open.length === 0) r!.tasks.delete(playbook);
        out.push(taskClosedOutput(task!, u.clientId, b.at, u.status, u.by ?? 'a CS tool'));
        break;
      }
    }

    const changedParts = new Map<string, ComponentScore[]>();
    for (const [clientId, r] of known) {
      const { base, components, profile } = componentScores(this.health, clientId, view);
      r.health.base = base;
      const changed = r.health.changedParts(components);
      if (changed.length > 0) changedParts.set(clientId, changed);
      const after = r.health.scoreAt(b.day, adj);
      if (after !== r.health.score)
        out.push(
          this.healthChange(m, clientId, r, after, SCORE_SOURCE, Calendar.isoDate(b.day - 1), {
            type: 'components',
            components,
            ...(profile ? { profile } : {}),
          }),
        );
    }

    // Client by client, every due playbook: the figures of one client are resolved once.
    const t1 = this.now();
    let firingMs = 0;
    const due = this.playbooks
      .filter((p) => isDue(p.schedule, b.day))
      .map((p) => ({
        p,
        period: periodOf(p.schedule, b.day),
        conditions: compileConditions(p),
        every: 'all' in p.when,
        health: usesHealth.has(p),
      }));
    for (const [clientId, r] of known) {
      for (const { p, period, conditions, every, health } of due) {
        if (!admitted(p, clientId, view)) continue;
        if (p.schedule.every === 'continuous') {
          const last = r.fired.get(p.id);
          if (last !== undefined && b.day - last < p.schedule.cooldownDays) continue;
        }
        this.stats.evaluations++;
        const reading = health ? this.reading(r, b.day) : undefined;
        if (!conditionsHold(conditions, every, clientId, m, view, reading)) {
          // Its condition no longer holds at this run: the tasks it opened are done with.
          if (p.closeWhen === 'recovered')
            this.closeTasks(r, p.id, clientId, m.at, 'recovered', period, out);
          continue;
        }
        const f0 = this.now();
        this.stats.fired++;
        r.fired.set(p.id, b.day);
        this.fire(p, period, m, clientId, r, explain(p, clientId, m, view, reading), view, out);
        // The twin of others: their open tasks for this client close with this alert.
        for (const other of this.closedBy.get(p.id) ?? [])
          this.closeTasks(
            r,
            other,
            clientId,
            m.at,
            'twin',
            firingOf(p.id, clientId, period, m.at).alertId,
            out,
          );
        firingMs += this.now() - f0;
      }
    }
    this.stats.playbooksMs = this.now() - t1;
    this.stats.firingMs = firingMs;
    for (const [clientId, r] of known) {
      const s = r.health.score;
      if (s !== null) {
        r.health.history.push([b.day, s]);
        this.scores.push({
          at: b.at,
          clientId,
          score: s,
          band: bandOf(s, this.health.thresholds),
          ...(changedParts.has(clientId) ? { parts: changedParts.get(clientId) } : {}),
        });
      }
      r.health.trim(b.day, adj, this.historyDays);
    }
    return out;
  }

  /** Closes every open task `playbook` opened for the client, oldest first. */
  private closeTasks(
    r: ClientRecord,
    playbook: string,
    clientId: string,
    at: number,
    reason: 'twin' | 'recovered' | 'done' | 'cancelled',
    by: string,
    out: Output[],
  ): void {
    const open = r.tasks.get(playbook);
    if (!open) return;
    r.tasks.delete(playbook);
    for (const t of open) out.push(taskClosedOutput(t, clientId, at, reason, by));
  }

  private reading(r: ClientRecord, day: number): HealthReading | undefined {
    const score = r.health.score;
    if (score === null) return undefined;
    return {
      score,
      band: bandOf(score, this.health.thresholds),
      highestWithin: (days) => r.health.highestWithin(day, days),
      scoreDaysAgo: (days) => r.health.scoreOn(day - days),
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
    const f = firingOf(p.id, clientId, period, m.at);
    const csm = textOrNull(view.attribute(clientId, 'csm'));
    const emitted: Output[] = [];
    // What the CSM notification and the health reason both quote.
    const evidence = verdicts.map((v) => ({ description: v.description, observed: v.observed }));
    p.actions.forEach((a, i) => {
      if ('health' in a) {
        r.health.adjustments.push([m.day, a.health]);
        const after = r.health.scoreAt(m.day, this.health.adjustments);
        emitted.push(
          this.healthChange(
            m,
            clientId,
            r,
            after,
            p.id,
            period,
            {
              type: 'playbook',
              playbook: p.id,
              alertId: f.alertId,
              points: a.health,
              conditions: evidence,
            },
            String(i),
          ),
        );
      } else if ('task' in a) {
        const task = taskOutput(f, i, {
          title: a.task.title,
          description: a.task.description ?? p.description,
          dueAt: isoOf(m.at + a.task.dueInDays * DAY_MS),
          owner: csm,
        });
        emitted.push(task);
        // Open until closed (by its twin, a recovery or a CS tool); the newest kept.
        r.tasks.set(p.id, [
          ...(r.tasks.get(p.id) ?? []).slice(-(OPEN_TASKS_KEPT - 1)),
          {
            id: task.id,
            playbook: p.id,
            period,
            title: task.body.title,
            dueAt: task.body.dueAt,
            owner: csm,
          },
        ]);
      } else if ('tag' in a) {
        const add = 'add' in a.tag;
        const tag = 'add' in a.tag ? a.tag.add : a.tag.remove;
        const changed = add ? !r.tags.has(tag) : r.tags.has(tag);
        if (add) r.tags.add(tag);
        else r.tags.delete(tag);
        emitted.push(
          tagOutput(f, i, { op: add ? 'add' : 'remove', tag, changed, tags: [...r.tags].sort() }),
        );
      } else if ('notifyCsm' in a)
        emitted.push(
          notifyOutput(f, i, {
            csm,
            title: p.title,
            message: a.notifyCsm.message,
            summary: evidence,
          }),
        );
      else if ('email' in a)
        emitted.push(
          emailOutput(f, i, {
            to: textOrNull(view.attribute(clientId, 'email')),
            template: a.email.template,
            subject: a.email.subject,
            variables: {
              clientName: view.attribute(clientId, 'name') ?? clientId,
              playbook: p.title,
              // The templates' language, when the client has one (pt, en).
              language: textOrNull(view.attribute(clientId, 'language')),
            },
          }),
        );
      else
        emitted.push(
          webhookOutput(f, i, {
            url: a.webhook.url,
            secretEnv: a.webhook.secretEnv ?? null,
            alert: {},
          }),
        );
    });
    const alert = alertOutput(f, {
      playbook: { id: p.id, title: p.title, category: p.category },
      schedule: p.schedule.every,
      conditions: verdicts,
      actions: emitted.map(summaryOf),
    });
    out.push(alert);
    for (const o of emitted) {
      // A webhook carries the alert it reports.
      if (o.kind === 'webhook') o.body.alert = { ...alert.body };
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
    reason: HealthBody['reason'],
    part?: string,
  ): OutputOf<'health'> {
    const before = r.health.score;
    r.health.score = after;
    const t = this.health.thresholds;
    return healthOutput(
      source,
      clientId,
      period,
      m.at,
      {
        before,
        after,
        change: before === null ? null : Math.round((after - before) * 100) / 100,
        bandBefore: before === null ? null : bandOf(before, t),
        bandAfter: bandOf(after, t),
        base: r.health.base,
        adjustment: r.health.adjustment(m.day, this.health.adjustments),
        reason,
      },
      part,
    );
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
        parts: r.health.parts,
        tags: [...r.tags],
        fired: [...r.fired],
        tasks: [...r.tasks],
      })),
      taskUpdates: [...this.taskUpdates],
    };
  }
}

/** An action as its alert lists it: kind, id and what a reader needs at a glance. */
function summaryOf(o: Output): AlertBody['actions'][number] {
  const id = o.id;
  switch (o.kind) {
    case 'health':
      return {
        kind: 'health',
        id,
        points: o.body.reason.type === 'playbook' ? o.body.reason.points : 0,
        before: o.body.before,
        after: o.body.after,
      };
    case 'task':
      return { kind: 'task', id, title: o.body.title, dueAt: o.body.dueAt, owner: o.body.owner };
    case 'tag':
      return { kind: 'tag', id, op: o.body.op, tag: o.body.tag };
    case 'notify':
      return { kind: 'notify', id, csm: o.body.csm };
    case 'email':
      return { kind: 'email', id, to: o.body.to, template: o.body.template };
    case 'webhook':
      return { kind: 'webhook', id, url: o.body.url };
    case 'alert':
    case 'task-closed':
      throw new Error(`${o.kind} is not an action`);
    default:
      // A kind added to Output and not handled here is a type error.
      return ((kind: never) => kind)(o);
  }
}

/** An attribute as text for a field that holds text (a CSM, an e-mail address). */
function textOrNull(v: AttributeValue | undefined): string | null {
  return v === undefined || v === null ? null : String(v);
}
