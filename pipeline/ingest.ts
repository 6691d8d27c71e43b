/**
 * The ingest stage, from JetStream to QuestDB:
 *
 *   tracking stream (after the checkpoint) ─► message batches ─► decode (pure)
 *     ─► usage figures (pure operators, event time) ─► outbox ─► QuestDB + dead letters
 *                                                                 └─► checkpoint
 *
 * RxJS orchestrates batches, never single events: per-event work happens in plain loops
 * inside the operators. Every `flushIntervalMs` the outbox is written (figure rows touched
 * many times are written once); every `checkpointMs`, once a write has succeeded, the
 * operators' state is saved with the stream sequence it reflects. A crash at any point
 * restarts from the last checkpoint and re-derives the same rows, which the tables'
 * dedup keys absorb: every figure ends exactly as in an uninterrupted run.
 */
import type { JetStreamClient } from 'nats';
import {
  concatMap,
  defer,
  filter,
  from,
  interval,
  map,
  merge,
  type Observable,
  Subject,
  takeUntil,
} from 'rxjs';
import type { UsageState } from '../operators/usage-figures.js';
import { publishDeadLetters } from './adapters/nats/dead-letters.js';
import { messageBatches, type MessageBatch, toInbound } from './adapters/nats/source.js';
import type { QuestDbSink } from './adapters/questdb/sink.js';
import type { CheckpointStore } from './checkpoint.js';
import type { ClientDirectory } from './contract/client-directory.js';
import { tooLateDeadLetter } from './contract/dead-letter.js';
import { decodeMessage } from './contract/decode.js';
import type { Limits } from './contract/limits.js';
import type { ClientUpdate, DeadLetter, TrackingEvent } from './contract/types.js';
import type { Logger } from './log.js';
import type { IngestMetrics } from './metrics.js';
import { Outbox } from './outbox.js';

export interface IngestOptions {
  js: JetStreamClient;
  stream: string;
  sink: QuestDbSink;
  directory: ClientDirectory;
  usage: UsageState;
  checkpoints: CheckpointStore;
  /** The stream sequence the restored state reflects (0: none). */
  afterSeq: number;
  metrics: IngestMetrics;
  log: Logger;
  limits: Limits;
  batchSize: number;
  batchWaitMs: number;
  pullMessages: number;
  flushIntervalMs: number;
  checkpointMs: number;
  allowedLatenessMs: number;
  storeRawEvents: boolean;
}

export interface WriteResult {
  /** Stream sequence whose effects are now in QuestDB. */
  lastSeq: number;
  rows: number;
  deadLetters: number;
  checkpointed: boolean;
}

export interface Ingest {
  results$: Observable<WriteResult>;
  /** Stops pulling; what was received is processed, written and checkpointed. */
  stop(): void;
  /** Stream sequence processed so far (in memory, maybe not yet written). */
  processedSeq(): number;
}

const MAX_OUTBOX_ROWS = 200_000;

export function createIngest(o: IngestOptions): Ingest {
  const stop$ = new Subject<void>();
  const outbox = new Outbox(o.storeRawEvents);
  let processed = o.afterSeq;
  let lastCheckpoint = Date.now();
  let checkpointedSeq = o.afterSeq;

  const write = async (final: boolean): Promise<WriteResult | undefined> => {
    if (outbox.empty && !(final && processed > checkpointedSeq)) return undefined;
    if (outbox.empty) outbox.lastSeq = processed;
    const w = outbox.take();
    const now = Date.now();
    // Serialized before any await, so it shows exactly what this write carries.
    const checkpoint =
      final || now - lastCheckpoint >= o.checkpointMs
        ? o.checkpoints.encode(processed, o.usage.snapshot())
        : undefined;
    const seq = processed;
    await Promise.all([
      retrying('publish dead letters', () => publishDeadLetters(o.js, w.deadLetters), o.log),
      o.sink.write(w.sink),
    ]);
    o.metrics.figureRows.inc(w.sink.figureRows);
    if (checkpoint) {
      await o.checkpoints.save(checkpoint);
      lastCheckpoint = now;
      checkpointedSeq = seq;
      o.metrics.checkpointSeq.set(seq);
    }
    o.metrics.writtenSeq.set(seq);
    return {
      lastSeq: seq,
      rows: w.sink.figureRows,
      deadLetters: w.deadLetters.length,
      checkpointed: !!checkpoint,
    };
  };

  const process = (b: MessageBatch): Promise<WriteResult | undefined> => {
    try {
      processBatch(b, o, outbox, (seq) => (processed = seq));
    } finally {
      b.done();
    }
    const due = Date.now() - outbox.since >= o.flushIntervalMs || outbox.rows >= MAX_OUTBOX_ROWS;
    return due ? write(false) : Promise.resolve(undefined);
  };

  const batches$ = messageBatches(o.js, o.stream, {
    afterSeq: o.afterSeq,
    size: o.batchSize,
    waitMs: o.batchWaitMs,
    pullMessages: o.pullMessages,
  }).pipe(takeUntil(stop$));
  const ticks$ = interval(Math.max(10, o.flushIntervalMs)).pipe(
    takeUntil(stop$),
    map(() => 'tick' as const),
  );

  const results$ = merge(batches$, ticks$).pipe(
    concatMap((item) => from(item === 'tick' ? write(false) : process(item))),
    // Once the source ends, a last write and checkpoint: a clean stop restarts instantly.
    (src) =>
      merge(
        src,
        defer(() => from(write(true))),
      ),
    filter((r): r is WriteResult => r !== undefined),
  );
  return {
    results$,
    stop: () => stop$.next(),
    processedSeq: () => processed,
  };
}

function processBatch(
  b: MessageBatch,
  o: IngestOptions,
  outbox: Outbox,
  advance: (seq: number) => void,
): void {
  const events: TrackingEvent[] = [];
  const updates: ClientUpdate[] = [];
  const deadLetters: DeadLetter[] = [];
  const byKind: Record<string, number> = {};
  let lastSeq = 0;
  let messages = 0;
  for (const m of b.msgs) {
    const seq = m.info.streamSequence;
    if (seq <= o.usage.seq) continue; // already folded in (a consumer re-created after a gap)
    o.usage.seq = lastSeq = seq;
    messages++;
    const d = decodeMessage(toInbound(m), o.limits);
    for (const e of d.events) {
      events.push(e);
      byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    }
    for (const u of d.clientUpdates) updates.push(u);
    for (const dl of d.deadLetters) deadLetters.push(dl);
  }
  if (messages === 0) return;
  const figures = o.usage.apply({ events, lastSeq });
  for (const e of figures.tooLate)
    deadLetters.push(tooLateDeadLetter(e, figures.watermark, o.allowedLatenessMs));
  const clients = updates.flatMap((u) => o.directory.apply(u));
  outbox.add(figures, messages, events, clients, deadLetters);
  advance(lastSeq);

  o.metrics.messages.inc(messages);
  o.metrics.batches.inc();
  for (const [kind, n] of Object.entries(byKind)) o.metrics.accepted.inc({ kind }, n);
  for (const dl of deadLetters) o.metrics.invalid.inc({ reason: dl.reason.code });
  o.metrics.tooLate.inc(figures.tooLate.length);
  o.metrics.clientUpdates.inc(updates.length);
  o.metrics.watermark.set(Number.isFinite(figures.watermark) ? figures.watermark / 1000 : 0);
  o.metrics.evaluations.inc(figures.boundaries);
}

/** NATS hiccups (a reconnect, a slow ack) are waited out, not turned into failures. */
async function retrying(what: string, fn: () => Promise<void>, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 60) throw e;
      log.warn({ attempt, err: (e as Error).message }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
    }
  }
}
