/**
 * `writeInOrder` — the pipeline's ordering guarantee as one operator.
 *
 * For each cut it receives (what one write carries), in the order received:
 *   1. tells `accepted(cut)` — upstream may now fold what follows while this write runs;
 *   2. subscribes to `write(cut)` (rows, dead letters, outputs) and waits for it to complete;
 *   3. only then subscribes to `commit(cut)` (the checkpoint covering exactly that write)
 *      and emits what it emits.
 *
 * One write is in flight at a time, and commits follow writes in stream order: a
 * checkpoint never runs ahead of the rows it covers. When the source completes (a clean
 * stop, after the last cut), the cuts already received are written and committed before
 * the output completes. An error from a write or a commit is fatal: the output errors at
 * once, nothing after it is written or committed, and the source is unsubscribed.
 *
 * RxJS has no backpressure: cuts that arrive while a write is in flight wait here, and
 * `accepted` is the signal upstream waits for before it produces more (see decode.ts).
 */
import {
  concat,
  concatMap,
  defer,
  from,
  ignoreElements,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';

export interface OrderedSink<C, R> {
  /** Called as the cut's write starts (the previous write and commit are done). */
  accepted?(cut: C): void;
  write(cut: C): ObservableInput<unknown>;
  /** Runs once `write(cut)` completed; emits the cut's result. */
  commit(cut: C): ObservableInput<R>;
}

export function writeInOrder<C, R>(sink: OrderedSink<C, R>): OperatorFunction<C, R> {
  return concatMap((cut) =>
    defer(() => {
      sink.accepted?.(cut);
      return concat(
        from(sink.write(cut)).pipe(ignoreElements()),
        defer(() => sink.commit(cut)),
      );
    }),
  );
}
