/**
 * The tracking chain: one input (today the whole tracking stream) from JetStream to
 * QuestDB, NATS outputs and checkpoints, as one chain of RxJS stages — each in its own
 * file under stages/, each saying what it emits and when:
 *
 *   fetches ─► decodeSlices ─► foldFigures ─┐
 *                                           ├─► toOutbox ─► writeInOrder(write ▸ checkpoint)
 *   flush ticks ────────────────────────────┘
 *
 * RxJS orchestrates fetches and slices, never single events: per-event work happens in
 * plain loops inside the stages and operators. Built from its configuration sections, so
 * that several chains (one per partition) can run side by side.
 */
import type { JetStreamClient } from 'nats';
import { interval, map, merge, type Observable, Subject, takeUntil } from 'rxjs';
import type { RulesStage } from '../operators/playbooks/stage.js';
import type { UsageState } from '../operators/usage-figures.js';
import type { OutputPublisher } from './adapters/nats/outputs.js';
import { messageBatches } from './adapters/nats/source.js';
import type { QuestDbSink } from './adapters/questdb/sink.js';
import type { CheckpointStore } from './checkpoint.js';
import type { Config } from './config/types.js';
import type { ClientDirectory } from './contract/client-directory.js';
import type { DeadLetterCaps } from './contract/dead-letter.js';
import type { Limits } from './contract/limits.js';
import type { CrashJournal } from './crash-journal.js';
import type { Logger } from './log.js';
import type { IngestMetrics } from './metrics.js';
import { CheckpointPolicy } from './stages/checkpoints.js';
import { decodeSlices } from './stages/decode.js';
import { foldFigures, type TestFault } from './stages/figures.js';
import { toOutbox } from './stages/outbox.js';
import type { Tick, WriteResult } from './stages/units.js';
import { cutSink } from './stages/write.js';
import { writeInOrder } from './stages/write-in-order.js';

export type { TestFault, WriteResult };

/** The configuration a chain reads: its sections, as loaded and checked. */
export interface ChainSettings {
  ingest: Config['ingest'];
  consumer: Config['nats']['consumer'];
  stream: Config['nats']['trackingStream'];
  windows: Config['windows'];
  checkpoint: Config['checkpoint'];
  limits: Config['limits'];
  /** The contract's bounds on one message (derived from ingest and the stream). */
  contract: Limits;
}

/** What a chain works with: the connections, its state, and where it reports. */
export interface ChainParts {
  js: JetStreamClient;
  sink: QuestDbSink;
  outputs: OutputPublisher;
  usage: UsageState;
  rules: RulesStage;
  directory: ClientDirectory;
  checkpoints: CheckpointStore;
  journal?: CrashJournal;
  deadLetterCaps: DeadLetterCaps;
  metrics: IngestMetrics;
  log: Logger;
  testFault?: TestFault;
}

export interface Chain {
  results$: Observable<WriteResult>;
  /** Stops reading: what was received is processed, written and checkpointed. */
  stop(): void;
  /** Stream sequence folded so far (in memory, maybe not yet written). */
  processedSeq(): number;
  /** Messages in the stream after the last one folded, as the last fetch said. */
  pending(): number;
}

export function trackingChain(c: ChainSettings, p: ChainParts): Chain {
  const stop$ = new Subject<void>();
  const afterSeq = p.usage.seq;
  const checkpoints = new CheckpointPolicy(
    p.checkpoints,
    c.checkpoint.intervalSeconds * 1000,
    afterSeq,
  );

  const fetches$ = messageBatches(
    p.js,
    c.stream.name,
    {
      afterSeq,
      waitMs: c.ingest.batchWaitMs,
      pullMessages: c.consumer.pullMessages,
      pullBytes: c.consumer.pullBytes,
    },
    (seq) =>
      p.log.warn(
        { afterSeq: seq },
        'a fetch did not end; reading again with a new ordered consumer',
      ),
  ).pipe(takeUntil(stop$));
  const ticks$ = interval(Math.max(10, c.ingest.flushIntervalMs)).pipe(
    takeUntil(stop$),
    map((): Tick => ({ tick: true })),
  );

  const sink = cutSink({
    js: p.js,
    sink: p.sink,
    outputs: p.outputs,
    checkpoints,
    deadLetterCaps: p.deadLetterCaps,
    metrics: p.metrics,
    log: p.log,
  });
  const outbox = toOutbox({
    flushIntervalMs: c.ingest.flushIntervalMs,
    storeRawEvents: c.ingest.storeRawEvents,
    usage: p.usage,
    rules: p.rules,
    directory: p.directory,
    checkpoints,
    afterSeq,
    idle: () => sink.idle(),
  });
  const folded$ = fetches$.pipe(
    decodeSlices({
      limits: c.contract,
      batchSize: c.ingest.batchSize,
      afterSeq,
      journal: p.journal,
      log: p.log,
      mayFold: () => outbox.folding(),
    }),
    foldFigures({
      usage: p.usage,
      rules: p.rules,
      directory: p.directory,
      allowedLatenessMs: c.windows.allowedLatenessSeconds * 1000,
      maxClients: c.limits.maxClients,
      journal: p.journal,
      metrics: p.metrics,
      log: p.log,
      testFault: p.testFault,
    }),
  );
  const results$ = merge(folded$, ticks$).pipe(outbox.operator, writeInOrder(sink));
  return {
    results$,
    stop: () => stop$.next(),
    processedSeq: () => p.usage.seq,
    pending: () => outbox.pending(),
  };
}
