/**
 * `usageFigures` — every windowed figure at once: the watermark splits each micro-batch
 * into steps, then each figure operator consumes the same steps. Emits one `FigureBatch`
 * per input batch, carrying the too-late events and the stream position it reflects.
 *
 * `UsageState` bundles the operators' states so that the pipeline can checkpoint them
 * together with that stream position, and restore them after a restart.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../schemas/types.js';
import { ActiveUsers, type ActiveUsersSnapshot } from './active-users.js';
import { DailyUsage, type DailyUsageRows, type DailyUsageSnapshot } from './daily-usage.js';
import { LastSeen, type LastSeenRow, type LastSeenSnapshot } from './last-seen.js';
import {
  MetricAggregates,
  type MetricAggregatesSnapshot,
  type MetricRow,
} from './metric-aggregates.js';
import { Ratios, type RatioRow, type RatiosSnapshot } from './ratios.js';
import { RollingCounts, type RollingCountsSnapshot, type RollingRow } from './rolling-counts.js';
import {
  isBoundary,
  ringDaysFor,
  type EventBatch,
  type Step,
  type WindowedBatch,
  type WindowSpec,
  type Boundary,
} from './types.js';

export type { Boundary };

/** Who follows the figures step by step: the rules stage. */
export interface StepListener {
  /** Accepted events, in stream order, as they are folded in. */
  observe(events: readonly TrackingEvent[]): void;
  /** A boundary, with every operator holding exactly the events before it. */
  boundary(b: Boundary): void;
}

import { Watermark, type WatermarkSnapshot } from './watermark.js';
import {
  Admission,
  type AdmissionLimits,
  type AdmissionSnapshot,
  type Refusal,
} from './admission.js';
import { EventIds, type EventIdsOptions, type EventIdsSnapshot } from './event-ids.js';

/** Bounds on the state and the id horizon (the configuration's `limits` and `ingest.idempotency`). */
export interface StateGuards {
  limits: AdmissionLimits;
  ids: EventIdsOptions;
}

export const DEFAULT_GUARDS: StateGuards = {
  limits: {
    maxClients: 100_000,
    maxNamesPerClient: 500,
    maxEventNames: 20_000,
    maxUsersPerClient: 100_000,
  },
  ids: { horizonMs: 86_400_000, maxIds: 2_000_000 },
};

export interface FigureBatch {
  daily: DailyUsageRows;
  rolling: RollingRow[];
  ratios: RatioRow[];
  lastSeen: LastSeenRow[];
  metrics: MetricRow[];
  tooLate: TrackingEvent[];
  /** Events beyond the state's bounds: counted nowhere, dead-lettered with their reason. */
  refused: Refusal[];
  /** Events dropped because their (client, id) was already counted. */
  duplicates: number;
  /** The batch's events that count in the figures (admitted, new, not too late), in order. */
  counted: TrackingEvent[];
  watermark: number;
  /** Number of boundaries (evaluated midnights) in this batch. */
  boundaries: number;
  lastSeq: number;
}

export interface UsageSnapshot {
  watermark: WatermarkSnapshot;
  daily: DailyUsageSnapshot;
  rolling: RollingCountsSnapshot;
  users: ActiveUsersSnapshot;
  ratios: RatiosSnapshot;
  lastSeen: LastSeenSnapshot;
  metrics: MetricAggregatesSnapshot;
  admission: AdmissionSnapshot;
  ids: EventIdsSnapshot;
}

export class UsageState {
  /** The stream sequence the state reflects (kept by the pipeline, saved with checkpoints). */
  seq = 0;
  readonly watermark: Watermark;
  readonly daily: DailyUsage;
  readonly rolling: RollingCounts;
  readonly users: ActiveUsers;
  readonly ratios: Ratios;
  readonly lastSeen: LastSeen;
  readonly metrics: MetricAggregates;
  readonly admission: Admission;
  readonly ids: EventIds;

  constructor(spec: WindowSpec, s?: UsageSnapshot, guards: StateGuards = DEFAULT_GUARDS) {
    this.admission = new Admission(guards.limits, spec.calendar, ringDaysFor(spec), s?.admission);
    this.ids = new EventIds(guards.ids, s?.ids);
    this.watermark = new Watermark(spec.calendar, spec.allowedLatenessMs, s?.watermark);
    this.daily = new DailyUsage(spec.calendar, s?.daily);
    this.rolling = new RollingCounts(spec, s?.rolling);
    this.users = new ActiveUsers(spec, s?.users);
    this.ratios = new Ratios(spec, s?.ratios);
    this.lastSeen = new LastSeen(spec.calendar, s?.lastSeen);
    this.metrics = new MetricAggregates(spec, s?.metrics);
  }

  /**
   * Folds a batch into every figure. A `listener` sees the events in order and is called at
   * each boundary with the operators holding exactly the events before it in stream order,
   * and before they evaluate it: the moment the rules stage reads the windows ending there.
   */
  apply(batch: EventBatch, listener?: StepListener): FigureBatch {
    // Bounds first, so a refused event moves nothing, not even the watermark; then ids.
    const { admitted, refused } = this.admission.apply(batch.events);
    const before = this.ids.duplicates;
    const events = this.ids.apply(admitted);
    const w = this.watermark.apply({ ...batch, events });
    const out: FigureBatch = {
      daily: { usage: [], userUsage: [] },
      rolling: [],
      ratios: [],
      lastSeen: [],
      metrics: [],
      tooLate: w.tooLate,
      refused,
      duplicates: this.ids.duplicates - before,
      counted: w.tooLate.length === 0 ? events : withoutAll(events, w.tooLate),
      watermark: w.watermark,
      boundaries: w.steps.filter(isBoundary).length,
      lastSeq: w.lastSeq,
    };
    if (!listener) {
      this.fold(w, out);
      return out;
    }
    let pending: Step[] = [];
    for (const step of w.steps) {
      if (isBoundary(step)) {
        this.fold({ ...w, steps: pending }, out);
        listener.boundary(step.boundary);
        pending = [];
      } else listener.observe(step.events);
      pending.push(step);
    }
    this.fold({ ...w, steps: pending }, out);
    return out;
  }

  private fold(w: WindowedBatch, out: FigureBatch): void {
    if (w.steps.length === 0) return;
    const daily = this.daily.apply(w);
    for (const r of daily.usage) out.daily.usage.push(r);
    for (const r of daily.userUsage) out.daily.userUsage.push(r);
    for (const r of this.rolling.apply(w)) out.rolling.push(r);
    for (const r of this.users.apply(w)) out.rolling.push(r);
    for (const r of this.ratios.apply(w)) out.ratios.push(r);
    for (const r of this.lastSeen.apply(w)) out.lastSeen.push(r);
    for (const r of this.metrics.apply(w)) out.metrics.push(r);
  }

  /**
   * The same picture as `snapshot()`, taken one operator at a time with `pause()` between
   * them, so a large state never holds the event loop for long. The caller must not fold
   * anything until it resolves (the pipeline's write waits for it).
   */
  async snapshotInSteps(pause: () => Promise<void>): Promise<UsageSnapshot> {
    const parts: Partial<UsageSnapshot> = {};
    const take = async <K extends keyof UsageSnapshot>(k: K, f: () => UsageSnapshot[K]) => {
      parts[k] = f();
      await pause();
    };
    await take('watermark', () => this.watermark.snapshot());
    await take('daily', () => this.daily.snapshot());
    parts.rolling = await this.rolling.snapshotInSteps(pause);
    await take('users', () => this.users.snapshot());
    await take('ratios', () => this.ratios.snapshot());
    await take('lastSeen', () => this.lastSeen.snapshot());
    await take('metrics', () => this.metrics.snapshot());
    await take('admission', () => this.admission.snapshot());
    parts.ids = await this.ids.snapshotInSteps(pause);
    return parts as UsageSnapshot;
  }

  snapshot(): UsageSnapshot {
    return {
      watermark: this.watermark.snapshot(),
      daily: this.daily.snapshot(),
      rolling: this.rolling.snapshot(),
      users: this.users.snapshot(),
      ratios: this.ratios.snapshot(),
      lastSeen: this.lastSeen.snapshot(),
      metrics: this.metrics.snapshot(),
      admission: this.admission.snapshot(),
      ids: this.ids.snapshot(),
    };
  }
}

function withoutAll<T>(list: T[], drop: T[]): T[] {
  const gone = new Set(drop);
  return list.filter((x) => !gone.has(x));
}

/** A batch with the figures it produced. */
export interface Figured<B extends EventBatch> {
  batch: B;
  figures: FigureBatch;
}

/**
 * The operator form of `UsageState.apply`: emits, for each batch, the batch with its
 * figures, once every operator has folded it in; `listener` (the rules stage) follows
 * the steps inside it, boundaries included.
 */
export function usageFigures<B extends EventBatch>(
  state: UsageState,
  listener?: StepListener,
): OperatorFunction<B, Figured<B>> {
  return map((batch) => ({ batch, figures: state.apply(batch, listener) }));
}
