/**
 * The one shape of a windowed operator, and the one loop that drives it.
 *
 * A windowed batch is a list of steps (types.ts): events, in stream order, and boundaries
 * (the watermark passed a local midnight: the windows ending there are final). Every
 * operator reacts to both and can picture its state for a checkpoint; `apply` runs the
 * steps in order, so no operator re-implements the loop.
 */
import type { TrackingEvent } from '../schemas/types.js';
import { isBoundary, type Boundary, type WindowedBatch } from './types.js';

export abstract class WindowedOperator<Out, Snapshot> {
  /** A fresh output for one batch (the rows it will emit). */
  protected abstract emptyOutput(): Out;
  /** Folds the events of one step, in stream order; rows they change go to `out`. */
  protected abstract onEvents(events: readonly TrackingEvent[], out: Out): void;
  /** The watermark passed `b`: windows ending there are final; rows they emit go to `out`. */
  protected abstract onBoundary(b: Boundary, out: Out): void;
  /** The state, for a checkpoint; the constructor takes it back. */
  abstract snapshot(): Snapshot;

  /** Runs the batch's steps in order; returns the rows they emitted. */
  apply(batch: WindowedBatch): Out {
    const out = this.emptyOutput();
    for (const step of batch.steps) {
      if (isBoundary(step)) this.onBoundary(step.boundary, out);
      else this.onEvents(step.events, out);
    }
    return out;
  }
}
