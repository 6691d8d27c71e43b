/**
 * The health score: 0–100 per client, computed at every midnight from weighted components
 * (each a rolling figure mapped to points by bands), plus the point changes playbooks make.
 *
 *   score = clamp(Σ weightᵢ × pointsᵢ / maxPointsᵢ + adjustment, 0, 100)
 *   adjustment = clamp(Σ playbook points fired in the last `adjustments.lastDays` days,
 *                      −adjustments.maxPoints, +adjustments.maxPoints)
 *
 * A playbook's points apply once per (playbook, client, period) — a re-evaluation produces
 * the same firing, never a second one — and expire after `lastDays`, so a weekly −3 that
 * keeps firing holds the score down by a bounded amount instead of drifting it to 0.
 */
import type { FigureView } from './figure-view.js';
import type { HealthModel } from '../../schemas/generated/health.js';
import type { Refined } from './playbook.js';
import { metricValue } from './conditions/metric.js';
import { admits } from './filters.js';

export type Band = 'green' | 'yellow' | 'red';

type GeneratedComponent = HealthModel['components'][number];

/** What a component reads: its type generated from schemas/health.schema.json, subjects refined. */
export type ComponentFigure = Refined<GeneratedComponent['figure']>;

/** One component; `bands` are highest `min` first: a value gets the first band it reaches. */
export interface HealthComponent extends Omit<GeneratedComponent, 'figure'> {
  figure: ComponentFigure;
}

/** The health model as loaded (deploy/health.yaml): the generated type, components refined. */
export interface HealthConfig extends Omit<HealthModel, 'components'> {
  components: HealthComponent[];
  /** Where it was defined, for messages. */
  source?: string;
}

export interface ComponentScore {
  id: string;
  value: number | null;
  points: number;
  /** weight × points on the seeds' scale (15% × 10 points = 1.5). */
  contribution: number;
}

export function bandOf(score: number, t: HealthConfig['thresholds']): Band {
  return score >= t.green ? 'green' : score >= t.yellow ? 'yellow' : 'red';
}

export function pointsFor(value: number | null, c: HealthComponent): number {
  if (value === null) return c.missingPoints;
  for (const b of c.bands) if (value >= b.min) return b.points;
  return 0;
}

/** Rounded to cents of a point: scores are compared for change, so float dust must not count. */
export const round2 = (x: number) => Math.round(x * 100) / 100;

/** The first profile whose filters all hold for the client, if any. */
export function profileOf(
  h: HealthConfig,
  clientId: string,
  view: FigureView,
): HealthConfig['profiles'][number] | undefined {
  return h.profiles.find((p) =>
    p.when.every((f) => admits(f, view.attribute(clientId, f.attribute))),
  );
}

export function componentScores(
  h: HealthConfig,
  clientId: string,
  view: FigureView,
): { base: number; components: ComponentScore[]; profile?: string } {
  const profile = h.profiles.length > 0 ? profileOf(h, clientId, view) : undefined;
  let base = 0;
  const components: ComponentScore[] = [];
  for (const c of h.components) {
    const weight = profile?.weights[c.id] ?? c.weight;
    const value = figureValue(c.figure, clientId, view);
    const points = pointsFor(value, c);
    base += (weight * points) / c.maxPoints;
    components.push({ id: c.id, value, points, contribution: round2((weight * points) / 100) });
  }
  return { base: round2(base), components, ...(profile ? { profile: profile.id } : {}) };
}

function figureValue(f: ComponentFigure, clientId: string, view: FigureView): number | null {
  if ('count' in f) return view.count(clientId, f.count, f.count.windowDays, 'current');
  if ('activeUsers' in f) return view.activeUsers(clientId, f.activeUsers.windowDays, 'current');
  if ('attribute' in f) {
    const v = view.attribute(clientId, f.attribute.name);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  return metricValue(view, clientId, f.metric).value;
}

/** One client's score and the playbook points still in force. */
export class ClientHealth {
  base = 0;
  score: number | null = null;
  /** [day fired, points] of playbook changes, oldest first. */
  adjustments: [number, number][] = [];
  /** [day, score at that midnight], for "dropped N points within D days". */
  history: [number, number][] = [];
  /** Each component's last [value, points], in the model's order. */
  parts: [number | null, number][] = [];

  /** The components whose value or points moved since the last call; remembers these. */
  changedParts(components: ComponentScore[]): ComponentScore[] {
    const changed: ComponentScore[] = [];
    components.forEach((c, i) => {
      const was = this.parts[i];
      if (was && was[0] === c.value && was[1] === c.points) return;
      this.parts[i] = [c.value, c.points];
      changed.push(c);
    });
    return changed;
  }

  adjustment(day: number, a: HealthConfig['adjustments']): number {
    let sum = 0;
    for (const [d, p] of this.adjustments) if (d > day - a.lastDays) sum += p;
    return Math.max(-a.maxPoints, Math.min(a.maxPoints, sum));
  }

  scoreAt(day: number, a: HealthConfig['adjustments']): number {
    return round2(Math.max(0, Math.min(100, this.base + this.adjustment(day, a))));
  }

  /** Drops what can no longer matter: expired adjustments, history older than `keepDays`. */
  trim(day: number, a: HealthConfig['adjustments'], keepDays: number): void {
    while (this.adjustments.length > 0 && this.adjustments[0]![0] <= day - a.lastDays)
      this.adjustments.shift();
    while (this.history.length > 0 && this.history[0]![0] < day - keepDays) this.history.shift();
  }

  scoreOn(day: number): number | undefined {
    for (const [d, s] of this.history) if (d === day) return s;
    return undefined;
  }

  highestWithin(day: number, days: number): number | undefined {
    let best: number | undefined;
    for (const [d, s] of this.history)
      if (d >= day - days && d < day && (best === undefined || s > best)) best = s;
    return best;
  }
}
