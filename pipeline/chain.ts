/**
 * The tracking chains: the tracking stream from JetStream to QuestDB, NATS outputs and
 * checkpoints, one chain of RxJS stages per partition this worker owns — each stage in its
 * own file under stages/, each saying what it emits and when:
 *
 *                                       ┌─► foldFigures ─┐
 *   fetches ─► decodeSlices ─► split ───┤   (partition p) ├─► toOutbox ─► writeInOrder(write ▸ checkpoint)
 *                                       └─► …            ┘        ▲
 *                                               flush ticks ──────┘
 *
 * The stream is fetched and decoded once per worker; `splitSlice` gives each partition its
 * part of every slice. Each partition has its own state, watermark, rules, outbox, writes
 * and checkpoint, so it can move to another worker on its own. A decoded slice is settled
 * (and the next one decoded) once every partition has settled its part.
 *
 * RxJS orchestrates fetches and slices, never single events: per-event work happens in
 * plain loops inside the stages and operators.
 */
import type { JetStreamClient } from 'nats';
import {
  catchError,
  EMPTY,
  finalize,
  ignoreElements,
  interval,
  map,
  merge,
  type Observable,
  Subject,
  takeUntil,
  tap,
  throwError,
} from 'rxjs';
import { partitionOf } from '../operators/partition.js';
import { PartitionLostError } from './adapters/nats/partition-store.js';
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
import { splitSlice } from './stages/split.js';
import type { Slice, Tick, WriteResult } from './stages/units.js';
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

/** What the chains of one worker share: the connection, the journal, where they report. */
export interface SharedParts {
  js: JetStreamClient;
  /** The partition count (fixed with the state bucket). */
  count: number;
  journal?: CrashJournal;
  deadLetterCaps: DeadLetterCaps;
  metrics: IngestMetrics;
  log: Logger;
  testFault?: TestFault;
}

/** One partition's state and its connections to the outside. */
export interface PartitionParts {
  partition: number;
  sink: QuestDbSink;
  outputs: OutputPublisher;
  usage: UsageState;
  rules: RulesStage;
  directory: ClientDirectory;
  checkpoints: CheckpointStore;
  log: Logger;
}

export interface Chains {
  results$: Observable<WriteResult & { partition: number }>;
  /** Stops reading: what was received is processed, written and checkpointed. */
  stop(): void;
  /** The lowest stream sequence folded over the partitions still running. */
  processedSeq(): number;
  /** Messages in the stream after the last one folded, as the last fetch said. */
  pending(): number;
  /**
   * Lets a partition go (another worker claimed it): it gets nothing more and ends without
   * writing what it holds (the new owner replays that from the last checkpoint). Resolves
   * once its chain has ended: no write of it is in flight any more.
   */
  release(partition: number, by: string): Promise<void>;
  /** Per partition still running: where it stands. */
  partitions(): {
    partition: number;
    seq: number;
    writtenSeq: number;
    checkpointSeq: number;
    checkpointAt: number | null;
    pending: number;
  }[];
}

/** A partition's chain as it runs, and what the split needs of it. */
interface Running {
  parts: PartitionParts;
  input: Subject<Slice>;
  pending(): number;
  folding(): Promise<void>;
  cutting(): boolean;
  writtenSeq: number;
  checkpointAt: number | null;
  checkpoints: CheckpointPolicy;
  /** The settle of its part of the slice in hand (called for it if the chain ends). */
  open: Set<() => void>;
  /** Ends its flush ticks (when it is let go). */
  ended: Subject<void>;
  /** Resolves when its chain has ended (every write of it done or failed). */
  finished: Promise<void>;
}

export function trackingChains(
  c: ChainSettings,
  shared: SharedParts,
  owned: PartitionParts[],
): Chains {
  const stop$ = new Subject<void>();
  const running = new Map<number, Running>();
  const afterSeq = Math.min(...owned.map((p) => p.usage.seq));
  let pending = 0;

  const chains = owned.map((p) => partitionChain(c, shared, p, stop$, running));

  const fetches$ = messageBatches(
    shared.js,
    c.stream.name,
    {
      afterSeq,
      waitMs: c.ingest.batchWaitMs,
      pullMessages: c.consumer.pullMessages,
      pullBytes: c.consumer.pullBytes,
    },
    (seq) =>
      shared.log.warn(
        { afterSeq: seq },
        'a fetch did not end; reading again with a new ordered consumer',
      ),
  ).pipe(takeUntil(stop$));

  const split$ = fetches$.pipe(
    decodeSlices({
      limits: c.contract,
      batchSize: c.ingest.batchSize,
      afterSeq,
      journal: shared.journal,
      log: shared.log,
      metrics: shared.metrics,
      mayFold: async () => {
        await Promise.all([...running.values()].map((r) => r.folding()));
      },
      cutting: () => [...running.values()].some((r) => r.cutting()),
    }),
    tap((s) => {
      pending = s.pending;
      route(s, shared, running);
    }),
  );

  const results$ = merge(
    ...chains,
    split$.pipe(
      // Its end ends every partition's input: each then writes and checkpoints what it holds.
      tap({
        complete: () => running.forEach((r) => r.input.complete()),
        error: (e: unknown) => running.forEach((r) => r.input.error(e)),
      }),
      ignoreElements(),
    ),
  );
  return {
    results$,
    stop: () => stop$.next(),
    release: (partition, by) => {
      const r = running.get(partition);
      if (!r) return Promise.resolve();
      r.parts.log.warn(
        { by },
        `partition ${partition} was claimed by ${by}; this worker lets it go`,
      );
      running.delete(partition);
      r.ended.next();
      r.input.complete();
      return r.finished;
    },
    processedSeq: () => Math.min(...[...running.values()].map((r) => r.parts.usage.seq)),
    pending: () => Math.max(pending, ...[...running.values()].map((r) => r.pending())),
    partitions: () =>
      [...running.values()].map((r) => ({
        partition: r.parts.partition,
        seq: r.parts.usage.seq,
        writtenSeq: r.writtenSeq,
        checkpointSeq: r.checkpoints.savedSeq,
        checkpointAt: r.checkpointAt,
        pending: r.pending(),
      })),
  };
}

/** Hands each running partition its part of the slice; settles the slice once all have. */
function route(s: Slice, shared: SharedParts, running: Map<number, Running>): void {
  const routes = [...running.values()].map((r) => ({
    partition: r.parts.partition,
    afterSeq: r.parts.usage.seq,
  }));
  const lead = [...running.values()].reduce<Running | undefined>(
    (a, r) => (a && a.parts.usage.seq <= r.parts.usage.seq ? a : r),
    undefined,
  );
  const parts = shared.metrics.timed('split', () =>
    splitSlice(s, shared.count, routes, lead?.parts.directory.users),
  );
  let settling = parts.size;
  let folding = parts.size;
  const settled = () => {
    if (--settling === 0) s.settle();
  };
  const folded = () => {
    if (--folding === 0) shared.journal?.end(s.lastSeq);
  };
  if (parts.size === 0) {
    shared.journal?.end(s.lastSeq);
    s.settle();
    return;
  }
  let primary = true;
  for (const [p, part] of parts) {
    const r = running.get(p)!;
    let once = false;
    const settle = () => {
      if (once) return;
      once = true;
      r.open.delete(settle);
      settled();
    };
    part.settle = settle;
    part.folded = folded;
    part.primary = primary;
    primary = false;
    r.open.add(settle);
    r.input.next(part);
  }
}

/** One partition's chain: its part of each slice through figures, outbox and writes. */
function partitionChain(
  c: ChainSettings,
  shared: SharedParts,
  p: PartitionParts,
  stop$: Subject<void>,
  running: Map<number, Running>,
): Observable<WriteResult & { partition: number }> {
  const input = new Subject<Slice>();
  const ended = new Subject<void>();
  let letGo = false;
  ended.subscribe(() => (letGo = true));
  let finish!: () => void;
  const checkpoints = new CheckpointPolicy(
    p.checkpoints,
    c.checkpoint.intervalSeconds * 1000,
    p.usage.seq,
  );
  const ticks$ = interval(Math.max(10, c.ingest.flushIntervalMs)).pipe(
    takeUntil(merge(stop$, ended)),
    map((): Tick => ({ tick: true })),
  );
  const sink = cutSink({
    js: shared.js,
    sink: p.sink,
    outputs: p.outputs,
    checkpoints,
    deadLetterCaps: shared.deadLetterCaps,
    metrics: shared.metrics,
    log: p.log,
  });
  const outbox = toOutbox({
    flushIntervalMs: c.ingest.flushIntervalMs,
    storeRawEvents: c.ingest.storeRawEvents,
    usage: p.usage,
    rules: p.rules,
    directory: p.directory,
    checkpoints,
    afterSeq: p.usage.seq,
    partition: p.partition,
    metrics: shared.metrics,
    idle: () => sink.idle(),
    // Let go: what it holds is the new owner's to write (it replays from the last
    // checkpoint). Written here, late, it could overwrite the new owner's newer rows.
    finalCut: () => !letGo,
  });
  const r: Running = {
    parts: p,
    input,
    pending: () => outbox.pending(),
    folding: () => outbox.folding(),
    cutting: () => outbox.cutting(),
    writtenSeq: p.usage.seq,
    checkpointAt: null,
    checkpoints,
    open: new Set(),
    ended,
    finished: new Promise<void>((resolve) => (finish = resolve)),
  };
  running.set(p.partition, r);
  const folded$ = input.pipe(
    foldFigures({
      usage: p.usage,
      rules: p.rules,
      directory: p.directory,
      allowedLatenessMs: c.windows.allowedLatenessSeconds * 1000,
      maxClients: c.limits.maxClients,
      metrics: shared.metrics,
      log: p.log,
      ownsUser: (userId) => partitionOf(userId, shared.count) === p.partition,
      testFault: shared.testFault,
    }),
  );
  return merge(folded$, ticks$).pipe(
    outbox.operator,
    writeInOrder(sink),
    map((w) => {
      r.writtenSeq = w.lastSeq;
      if (w.checkpointed) r.checkpointAt = Date.now();
      return { ...w, partition: p.partition };
    }),
    finalize(() => finish()),
    catchError((e: unknown) => {
      if (!(e instanceof PartitionLostError)) return throwError(() => e);
      // Another worker owns it now: this chain ends, the others go on.
      p.log.warn({ partition: p.partition, by: e.by }, e.message);
      running.delete(p.partition);
      for (const settle of [...r.open]) settle();
      return EMPTY;
    }),
  );
}
