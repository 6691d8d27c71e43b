/**
 * `toOutbox` — folded slices into the outbox, and the outbox into cuts.
 *
 * Adds each folded slice to the outbox (figure rows touched many times are held once) and
 * emits a `Cut` — what one write carries, with the checkpoint of the state at that moment
 * when one is due — when a write is due:
 *   - at the end of a fetch, once `flushIntervalMs` has passed since the oldest row held,
 *     or the outbox holds `MAX_OUTBOX_ROWS`;
 *   - inside a fetch folded for longer than `LONG_FETCH_MS` (so a crash in it does not cost
 *     it all again), or when the outbox is full;
 *   - at a flush tick, whatever is held (or a checkpoint alone, when one is due);
 *   - when the input completes: a last cut with a checkpoint, so a clean stop restarts
 *     instantly (none when the partition was let go to another worker).
 * A cut is taken once the write before it is done (`idle`): meanwhile the outbox keeps
 * filling and folding waits, so one outbox and one picture of the state are held at most.
 * A slice that cuts nothing is settled here; one that cuts is settled when its write
 * starts (writeInOrder). Ticks that come while a cut waits for its write are ignored.
 * No slice is folded while a cut is taken (`folding()`, which decoding waits for): the
 * state's picture is taken in steps and must not change under it. A cut carries the
 * checkpoint only when the state reflects exactly the slices it writes (a slice folded just
 * before a tick's cut began waits behind it): a checkpoint never runs ahead of the rows it
 * covers.
 */
import {
  concat,
  concatMap,
  defer,
  EMPTY,
  from,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import type { RulesStage } from '../../operators/playbooks/stage.js';
import type { Output } from '../../operators/playbooks/outputs.js';
import type { UsageState } from '../../operators/usage-figures.js';
import type { ClientDirectory } from '../contract/client-directory.js';
import { Outbox } from '../outbox.js';
import type { IngestMetrics } from '../metrics.js';
import type { CheckpointPolicy } from './checkpoints.js';
import { isTick, type Cut, type Folded, type Tick } from './units.js';

export const MAX_OUTBOX_ROWS = 200_000;
/**
 * A midnight over many clients fires many outputs at once (685,854 for 100,000 clients in
 * the bench): they are written in parts of this many, each its own write, so encoding and
 * publishing hold one part at a time.
 */
export const OUTPUTS_PER_WRITE = 50_000;
/** A fetch folded for longer than this is written as it goes. */
const LONG_FETCH_MS = 1000;

export interface OutboxOptions {
  flushIntervalMs: number;
  storeRawEvents: boolean;
  usage: UsageState;
  rules: RulesStage;
  directory: ClientDirectory;
  checkpoints: CheckpointPolicy;
  /** The stream sequence the restored state reflects. */
  afterSeq: number;
  /** Whose rows these are (progress rows name it). */
  partition?: number;
  /** Where encoding and checkpoint time is counted. */
  metrics?: Pick<IngestMetrics, 'timed' | 'stageSeconds'>;
  /**
   * Resolves once the write in flight is done. A cut is taken only then: while a write runs
   * the outbox keeps filling (and coalescing), and only one picture of the state is held.
   */
  idle(): Promise<void>;
  /** Whether the input's end writes a last cut (false once the partition was let go). */
  finalCut?: () => boolean;
}

export interface OutboxStage {
  operator: OperatorFunction<Folded | Tick, Cut>;
  /** Messages in the stream after the last one folded, as its fetch said. */
  pending(): number;
  /** Resolves when no cut is being taken: the next slice may be folded. */
  folding(): Promise<void>;
  /** Whether a cut is being taken right now (checked just before a slice is folded). */
  cutting(): boolean;
}

export function toOutbox(o: OutboxOptions): OutboxStage {
  const outbox = new Outbox(o.storeRawEvents, o.partition);
  let waiting = 0;
  /** The stream sequence of the last slice added: what the outbox brings QuestDB to. */
  let heldSeq = o.afterSeq;

  const due = (now: number) =>
    !outbox.empty && (now - outbox.since >= o.flushIntervalMs || outbox.rows >= MAX_OUTBOX_ROWS);

  let cutting = Promise.resolve();
  let cuttingNow = false;

  /** The cut of what is held, or nothing when there is nothing to write or checkpoint. */
  const cut = async (final: boolean, slice?: Folded['slice']): Promise<Cut | undefined> => {
    let cutDone!: () => void;
    cutting = new Promise<void>((r) => (cutDone = r));
    cuttingNow = true;
    try {
      return await cutNow(final, slice);
    } finally {
      cuttingNow = false;
      cutDone();
    }
  };

  const cutNow = async (final: boolean, slice?: Folded['slice']): Promise<Cut | undefined> => {
    await o.idle();
    const seq = heldSeq;
    const now = Date.now();
    // A tick's cut may wait for the write in flight while the next slice is folded (and
    // queued behind the tick, here): the state then reflects more than the outbox holds,
    // so its picture is left to the next cut, which sees both alike.
    const stateIsHeld = o.usage.seq === heldSeq;
    const checkpointDue = stateIsHeld && o.checkpoints.due(seq, final, now);
    if (outbox.empty && !checkpointDue) return undefined;
    if (outbox.empty) outbox.lastSeq = seq;
    const t0 = performance.now();
    const write = o.metrics ? o.metrics.timed('encode', () => outbox.take()) : outbox.take();
    const checkpoint = checkpointDue
      ? await o.checkpoints.cut(seq, o.usage, o.rules, o.directory, now)
      : undefined;
    // The picture's own time, without the pauses between its steps (others run then).
    if (checkpoint) o.metrics?.stageSeconds.inc({ stage: 'checkpoint' }, checkpoint.busyMs / 1000);
    waiting++;
    return {
      write,
      seq,
      ...(checkpoint ? { checkpoint } : {}),
      cutMs: performance.now() - t0,
      accepted: () => {
        waiting--;
        slice?.settle();
      },
    };
  };

  const emitCut = (final: boolean, slice?: Folded['slice']): Observable<Cut> =>
    defer(() => from(cut(final, slice))).pipe(
      concatMap((c) => {
        if (c) return [c];
        slice?.settle();
        return EMPTY;
      }),
    );

  const operator: OperatorFunction<Folded | Tick, Cut> = (input) =>
    concat(
      input.pipe(
        concatMap((u) => {
          if (isTick(u)) return waiting > 0 ? EMPTY : emitCut(false);
          if (u.outputs.length > OUTPUTS_PER_WRITE) return inParts(u);
          return addSlice(u, u.outputs);
        }),
      ),
      defer(() => (o.finalCut?.() === false ? EMPTY : emitCut(true))),
    );

  /**
   * A slice with more outputs than one write carries: all but the last part are written
   * first, each as a cut of its own with no checkpoint (the state is ahead of them) and
   * the stream position before the slice; the last part goes with the slice itself. A
   * crash between parts replays the slice: the publisher skips what the stream holds.
   */
  const inParts = (u: Folded): Observable<Cut> => {
    const parts: Output[][] = [];
    for (let i = 0; i < u.outputs.length; i += OUTPUTS_PER_WRITE)
      parts.push(u.outputs.slice(i, i + OUTPUTS_PER_WRITE));
    const last = parts.pop()!;
    return concat(
      from(parts).pipe(
        concatMap((part) => {
          outbox.addOutputs(part);
          return emitCut(false);
        }),
      ),
      defer(() => addSlice(u, last)),
    );
  };

  const addSlice = (u: Folded, outputs: Output[]): Observable<Cut> => {
    const s = u.slice;
    if (u.figures) {
      outbox.add(
        u.figures,
        // A slice's messages are counted once, in the partition that got its primary part.
        s.primary === false ? 0 : s.messages,
        u.figures.counted,
        u.clients,
        s.deadLetters,
        outputs,
        u.scores,
      );
      outbox.addUsers(u.users);
      outbox.pending = s.pending;
      heldSeq = s.lastSeq;
    }
    const now = Date.now();
    const writeNow =
      s.check === 'early'
        ? outbox.rows >= MAX_OUTBOX_ROWS || (now - s.fetchStartedAt >= LONG_FETCH_MS && due(now))
        : s.check === 'fetchEnd' && due(now);
    if (writeNow) return emitCut(false, s);
    s.settle();
    return EMPTY;
  };

  return {
    operator,
    pending: () => outbox.pending,
    folding: () => cutting,
    cutting: () => cuttingNow,
  };
}
