/** The shapes the windowed operators share. */
import type { TrackingEvent } from '../schemas/types.js';
import type { Calendar } from './calendar.js';

export interface RatioPair {
  /** Name used in the ratios table, e.g. "pedidos_vs_faturamento". */
  id: string;
  a: string;
  b: string;
  windowDays: number;
  /** Also keep the pair per user (for "any user" / "share of users" conditions). */
  perUser: boolean;
}

export interface WindowSpec {
  calendar: Calendar;
  /** Rolling windows in days, e.g. [1, 7, 30]. */
  days: number[];
  allowedLatenessMs: number;
  ratios: RatioPair[];
}

/** Days of history every key must keep: the longest window and its previous period, plus the lateness. */
export function ringDaysFor(
  spec: Pick<WindowSpec, 'days' | 'allowedLatenessMs' | 'ratios'>,
): number {
  const longest = Math.max(...spec.days, ...spec.ratios.map((r) => r.windowDays));
  return 2 * longest + Math.ceil(spec.allowedLatenessMs / 86_400_000) + 2;
}

/** A micro-batch of valid events, in arrival order, with the stream position it ends at. */
export interface EventBatch {
  events: TrackingEvent[];
  lastSeq: number;
  /**
   * A wall-clock tick recorded in the stream after these events: event time has reached at
   * least this, even if no client sent anything. Being in the stream, a replay sees it too.
   */
  clock?: number;
  /**
   * One partition's part of a batch (pipeline/stages/split.ts): the event time the whole
   * stream reached by the batch's end (and each event's `streamTime`, before it) — other
   * partitions' events move this partition's watermark too, where the stream has them.
   */
  reached?: number;
}

/**
 * One step of a windowed batch. Events are applied in order; a `boundary` step says the
 * watermark has passed the start of local day `day` (time `at`): every window ending there
 * is final and is evaluated now, before the events that follow.
 */
export type Step = { events: TrackingEvent[] } | { boundary: Boundary };

/** A local midnight the watermark has passed. */
export interface Boundary {
  /** The local day starting at the boundary: windows "last N days" are [day − N, day). */
  day: number;
  /** Its first instant, epoch ms. */
  at: number;
}

export interface WindowedBatch {
  steps: Step[];
  /** Events older than the watermark allows: counted nowhere, reported as too late. */
  tooLate: TrackingEvent[];
  /** Event time below which every window is final. */
  watermark: number;
  lastSeq: number;
}

export function isBoundary(s: Step): s is { boundary: Boundary } {
  return 'boundary' in s;
}
