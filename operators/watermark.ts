/**
 * `withWatermark` — event time for a stream of micro-batches.
 *
 * The watermark is the greatest event time seen so far minus the allowed lateness. For
 * each input batch it emits one `WindowedBatch`:
 * - events at or above the watermark go into `steps`, in arrival order;
 * - each time the watermark passes the start of a local day, a `boundary` step is placed
 *   before the events that pushed it there, so the windows ending at that midnight are
 *   evaluated with exactly the events that belong to them;
 * - events below the watermark go to `tooLate`, to be counted and dead-lettered, never
 *   silently dropped.
 * A clock tick (`batch.clock`, after the events) moves it like an event at that time, and
 * so do the times of a partition's part of a batch (each event's `streamTime`, the batch's
 * `reached`): the events of other partitions, where the stream has them.
 * The watermark moves per event, not per batch, so the output depends only on the order of
 * the stream, never on how it was cut into batches.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../schemas/types.js';
import type { Calendar } from './calendar.js';
import type { EventBatch, Step, WindowedBatch } from './types.js';

export interface WatermarkSnapshot {
  maxTs: number;
  nextBoundaryDay: number;
}

export class Watermark {
  private maxTs = -Infinity;
  /** The next local day whose start has not been passed yet; 0 before the first event. */
  private nextBoundaryDay = 0;

  constructor(
    readonly calendar: Calendar,
    private readonly allowedLatenessMs: number,
    snapshot?: WatermarkSnapshot,
  ) {
    if (snapshot) {
      this.maxTs = snapshot.maxTs;
      this.nextBoundaryDay = snapshot.nextBoundaryDay;
    }
  }

  get value(): number {
    return this.maxTs - this.allowedLatenessMs;
  }

  apply(batch: EventBatch): WindowedBatch {
    const steps: Step[] = [];
    const tooLate: TrackingEvent[] = [];
    let segment: TrackingEvent[] = [];
    const advance = (ts: number) => {
      if (this.nextBoundaryDay === 0) this.nextBoundaryDay = this.calendar.dayOf(ts) + 1;
      const w = ts - this.allowedLatenessMs;
      for (let at = this.calendar.dayStart(this.nextBoundaryDay); at <= w;) {
        if (segment.length > 0) steps.push({ events: segment });
        segment = [];
        steps.push({ boundary: { day: this.nextBoundaryDay, at } });
        at = this.calendar.dayStart(++this.nextBoundaryDay);
      }
      this.maxTs = ts;
    };
    for (const e of batch.events) {
      if (e.streamTime !== undefined && e.streamTime > this.maxTs) advance(e.streamTime);
      if (e.ts < this.value) {
        tooLate.push(e);
        continue;
      }
      if (e.ts > this.maxTs) advance(e.ts);
      segment.push(e);
    }
    if (batch.reached !== undefined && batch.reached > this.maxTs) advance(batch.reached);
    if (batch.clock !== undefined && batch.clock > this.maxTs) advance(batch.clock);
    if (segment.length > 0) steps.push({ events: segment });
    return { steps, tooLate, watermark: this.value, lastSeq: batch.lastSeq };
  }

  snapshot(): WatermarkSnapshot {
    return { maxTs: this.maxTs, nextBoundaryDay: this.nextBoundaryDay };
  }
}

export function withWatermark(state: Watermark): OperatorFunction<EventBatch, WindowedBatch> {
  return map((batch) => state.apply(batch));
}
