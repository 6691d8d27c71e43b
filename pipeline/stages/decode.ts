/**
 * `decodeSlices` — fetches into slices of decoded input, one slice at a time.
 *
 * Emits, per fetch, its messages decoded (pure contract code) into slices: a slice ends at
 * `batchSize` events, at a client or user update or a clock tick (the rules must see them exactly
 * where the stream has them, relative to the events and midnights around them), and
 * around a message suspected of a crash, which is folded alone. The last slice of a fetch
 * is emitted even if empty: it is where a write becomes due.
 *
 * The next slice is decoded only once the previous one has settled (folded, and its write
 * started if it cut one), and handed on only while no cut is being taken: memory holds one slice of decoded events whatever a fetch
 * holds, and the event loop is given a turn between slices so the NATS client reads its
 * socket. The fetch is released (`done`) after its last slice settled: only then does the
 * source hand on the next.
 *
 * The crash journal notes what is in hand before it is decoded (see crash-journal.ts);
 * the figures stage closes the note once the slice is folded.
 */
import type { JsMsg } from 'nats';
import { concatMap, Observable, type OperatorFunction } from 'rxjs';
import type { Limits } from '../contract/limits.js';
import { poisonDeadLetter } from '../contract/dead-letter.js';
import { decodeMessage } from '../contract/decode.js';
import type { CrashJournal } from '../crash-journal.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from '../metrics.js';
import { toInbound, type MessageBatch } from '../adapters/nats/source.js';
import type { Slice, WriteCheck } from './units.js';

export interface DecodeOptions {
  limits: Limits;
  /** Events per slice (ingest.batchSize). */
  batchSize: number;
  /** The last stream sequence already decoded (a fetch handed over twice is skipped). */
  afterSeq: number;
  journal?: CrashJournal;
  log: Logger;
  /** Resolves when a slice may be folded (not while a cut pictures the state). */
  mayFold?: () => Promise<void>;
  /** Where decoding time is counted (pulso_stage_seconds_total). */
  metrics?: Pick<IngestMetrics, 'timed'>;
  /** Whether a cut is being taken now: checked again right before the slice is handed on. */
  cutting?: () => boolean;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export function decodeSlices(o: DecodeOptions): OperatorFunction<MessageBatch, Slice> {
  let decodedSeq = o.afterSeq;

  /** Decodes one message into the slice; false when it was decoded before. */
  const decodeInto = (slice: Slice, m: JsMsg): boolean => {
    const seq = m.info.streamSequence;
    if (seq <= decodedSeq) return false;
    if (decodedSeq > 0 && seq > decodedSeq + 1)
      o.log.warn(
        { from: decodedSeq + 1, to: seq - 1 },
        'stream sequences skipped (deleted from the stream?)',
      );
    decodedSeq = slice.lastSeq = seq;
    slice.pending = m.info.pending;
    slice.messages++;
    const poisoned = o.journal?.poisoned(seq);
    if (poisoned) {
      // Decided at a start after two deaths here: refused whole, never processed again.
      slice.deadLetters.push(poisonDeadLetter(toInbound(m), poisoned));
      o.log.error({ seq, errors: poisoned.errors }, 'poison message dead-lettered, not processed');
      return true;
    }
    const d = o.metrics
      ? o.metrics.timed('decode', () => decodeMessage(toInbound(m), o.limits))
      : decodeMessage(toInbound(m), o.limits);
    for (const e of d.events) slice.events.push(e);
    for (const u of d.clientUpdates) slice.updates.push(u);
    for (const u of d.userUpdates) slice.userUpdates.push(u);
    for (const u of d.taskUpdates) slice.taskUpdates.push(u);
    for (const dl of d.deadLetters) slice.deadLetters.push(dl);
    if (d.clock !== undefined) slice.clock = d.clock;
    return true;
  };

  const slicesOf = (b: MessageBatch) =>
    new Observable<Slice>((subscriber) => {
      let stopped = false;
      let waiting: (() => void) | undefined;
      const fetchStartedAt = Date.now();
      const emit = async (slice: Slice, check: WriteCheck): Promise<void> => {
        slice.check = check;
        const settled = new Promise<void>((r) => (waiting = r));
        slice.settle = () => waiting?.();
        // Waiting and handing on are one step: a cut that began while the wait resolved (its
        // picture taken in steps, between which a fold would slip in) is waited for too.
        do await o.mayFold?.();
        while (o.cutting?.());
        if (stopped) return;
        subscriber.next(slice);
        await settled;
      };
      const journal = o.journal;
      (async () => {
        try {
          const last = b.msgs[b.msgs.length - 1]!.info.streamSequence;
          journal?.begin(b.msgs[0]!.info.streamSequence, last);
          let slice = newSlice(fetchStartedAt);
          for (const m of b.msgs) {
            if (stopped) return;
            const seq = m.info.streamSequence;
            // After a death in this range: one message at a time, each noted by itself.
            const alone = journal?.isSuspect(seq) ?? false;
            if (alone) {
              if (slice.messages > 0) await emit(slice, 'none');
              slice = newSlice(fetchStartedAt);
              journal!.begin(seq, seq);
            }
            if (!decodeInto(slice, m)) continue;
            if (
              alone ||
              slice.events.length >= o.batchSize ||
              slice.updates.length > 0 ||
              slice.userUpdates.length > 0 ||
              slice.taskUpdates.length > 0 ||
              slice.clock !== undefined
            ) {
              await emit(slice, 'early');
              slice = newSlice(fetchStartedAt);
              if (stopped) return;
              await nextTurn();
              if (seq < last) journal?.begin(seq + 1, last);
            }
          }
          if (!stopped) await emit(slice, 'fetchEnd');
        } finally {
          b.done();
        }
        subscriber.complete();
      })().catch((e: unknown) => subscriber.error(e));
      return () => {
        // Unsubscribed (a fatal error downstream): nothing waits for a settle any more.
        stopped = true;
        waiting?.();
      };
    });

  return concatMap(slicesOf);
}

function newSlice(fetchStartedAt: number): Slice {
  return {
    events: [],
    updates: [],
    userUpdates: [],
    taskUpdates: [],
    deadLetters: [],
    messages: 0,
    lastSeq: 0,
    pending: 0,
    fetchStartedAt,
    check: 'none',
    settle: () => undefined,
  };
}
