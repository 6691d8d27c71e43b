/**
 * `usageFigures` — every windowed figure at once: the watermark splits each micro-batch
 * into steps, then each figure operator consumes the same steps. Emits one `FigureBatch`
 * per input batch, carrying the too-late events and the stream position it reflects.
 *
 * `UsageState` bundles the operators' states so that the pipeline can checkpoint them
 * together with that stream position, and restore them after a restart.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../pipeline/contract/types.js';
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
import type { EventBatch, WindowSpec } from './types.js';
import { Watermark, type WatermarkSnapshot } from './watermark.js';

export interface FigureBatch {
  daily: DailyUsageRows;
  rolling: RollingRow[];
  ratios: RatioRow[];
  lastSeen: LastSeenRow[];
  metrics: MetricRow[];
  tooLate: TrackingEvent[];
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

  constructor(spec: WindowSpec, s?: UsageSnapshot) {
    this.watermark = new Watermark(spec.calendar, spec.allowedLatenessMs, s?.watermark);
    this.daily = new DailyUsage(spec.calendar, s?.daily);
    this.rolling = new RollingCounts(spec, s?.rolling);
    this.users = new ActiveUsers(spec, s?.users);
    this.ratios = new Ratios(spec, s?.ratios);
    this.lastSeen = new LastSeen(spec.calendar, s?.lastSeen);
    this.metrics = new MetricAggregates(spec, s?.metrics);
  }

  apply(batch: EventBatch): FigureBatch {
    const w = this.watermark.apply(batch);
    return {
      daily: this.daily.apply(w),
      rolling: [...this.rolling.apply(w), ...this.users.apply(w)],
      ratios: this.ratios.apply(w),
      lastSeen: this.lastSeen.apply(w),
      metrics: this.metrics.apply(w),
      tooLate: w.tooLate,
      watermark: w.watermark,
      boundaries: w.steps.filter((s) => 'boundary' in s).length,
      lastSeq: w.lastSeq,
    };
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
    };
  }
}

export function usageFigures(state: UsageState): OperatorFunction<EventBatch, FigureBatch> {
  return map((batch) => state.apply(batch));
}
