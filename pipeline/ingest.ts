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
import type { JetStreamClient, JsMsg } from 'nats';
import {
  concat,
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
import type { RulesStage } from '../operators/playbooks/stage.js';
import type { UsageState } from '../operators/usage-figures.js';
import type { OutputPublisher } from './adapters/nats/outputs.js';
import { publishDeadLetters } from './adapters/nats/dead-letters.js';
import { messageBatches, type MessageBatch, toInbound } from './adapters/nats/source.js';
import type { QuestDbSink } from './adapters/questdb/sink.js';
import type { CheckpointStore } from './checkpoint.js';
import type { ClientDirectory } from './contract/client-directory.js';
import {
  clientLimitDeadLetter,
  poisonDeadLetter,
  eventDeadLetter,
  tooLateDeadLetter,
  type DeadLetterCaps,
} from './contract/dead-letter.js';
import { decodeMessage } from './contract/decode.js';
import type { Limits } from './contract/limits.js';
import type { ClientUpdate, DeadLetter, TrackingEvent } from '../schemas/types.js';
import type { Logger } from './log.js';
import type { IngestMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { PulsoError, ServiceError } from './errors.js';
import type { CrashJournal } from './crash-journal.js';
import { retry } from './retry.js';

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
  pullBytes: number;
  flushIntervalMs: number;
  checkpointMs: number;
  allowedLatenessMs: number;
  storeRawEvents: boolean;
  /** How much of a refused input its dead letter carries, and the body's bound. */
  deadLetterCaps: DeadLetterCaps;
  /** limits.maxClients, for the dead letter of an update beyond it. */
  maxClients: number;
  /** Where the messages in hand are noted, and poison decisions kept. */
  journal?: CrashJournal;
  /** Test-only fault injection (PULSO_TEST_FAULT_CLIENT / PULSO_TEST_FAULT_MODE). */
  testFault?: TestFault;
  /** The rules stage, following the figures; its outputs are published with each write. */
  rules?: RulesStage;
  outputs?: OutputPublisher;
}

export interface TestFault {
  clientId: string;
  mode: 'throw' | 'kill';
}

export interface WriteResult {
  /** Stream sequence whose effects are now in QuestDB. */
  lastSeq: number;
  rows: number;
  deadLetters: number;
  /** Rules outputs published (and skipped as already in the stream). */
  published: number;
  skipped: number;
  checkpointed: boolean;
  encodeMs: number;
  writeMs: number;
  checkpointMs: number;
}

export interface Ingest {
  results$: Observable<WriteResult>;
  /** Stops pulling; what was received is processed, written and checkpointed. */
  stop(): void;
  /** Stream sequence processed so far (in memory, maybe not yet written). */
  processedSeq(): number;
  /** Messages in the stream after the last one processed, as the last fetch said. */
  pending(): number;
}

const MAX_OUTBOX_ROWS = 200_000;
/** Checkpoints are spaced at least this many times their own duration (about a tenth of the time)… */
const CHECKPOINT_DUTY = 10;
/** …but at most this many checkpoint intervals apart, so that a recovery stays short. */
const CHECKPOINT_MAX_SPACING = 6;
/** A fetch folded for longer than this is written as it goes. */
const LONG_FETCH_MS = 1000;
/** NATS hiccups (a reconnect, a slow ack) are waited out, not turned into failures. */
const NATS_HICCUPS = { attempts: 60, minDelayMs: 200, maxDelayMs: 5000 };
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export function createIngest(o: IngestOptions): Ingest {
  const stop$ = new Subject<void>();
  const outbox = new Outbox(o.storeRawEvents);
  let processed = o.afterSeq;
  let lastCheckpoint = Date.now();
  // A large state takes a while to picture and write: checkpoints are spaced so that they
  // take at most about a tenth of the time, up to six intervals (a crash then replays more).
  let checkpointSpacing = o.checkpointMs;
  let checkpointedSeq = o.afterSeq;

  // One write at a time runs while the next batches are processed into the outbox, so
  // QuestDB ingests on one core while the operators work on the other. Starting a write
  // first waits for the one before: writes (and checkpoints) stay in stream order, and at
  // most one outbox is held besides the one filling.
  let writing: Promise<WriteResult | undefined> = Promise.resolve(undefined);

  /** Starts a write of what the outbox holds; resolves with the result of the previous one. */
  const write = async (final: boolean): Promise<WriteResult | undefined> => {
    const previous = await writing;
    writing = Promise.resolve(undefined); // its result is reported once, here
    const now = Date.now();
    // An idle pipeline still checkpoints what it processed, so a restart starts from there.
    const checkpointDue =
      processed > checkpointedSeq && (final || now - lastCheckpoint >= checkpointSpacing);
    if (outbox.empty && !checkpointDue) return previous;
    if (outbox.empty) outbox.lastSeq = processed;
    const t0 = performance.now();
    const w = outbox.take();
    // Taken now, while nothing is folded, so it shows exactly what this write carries; in
    // steps, so that a large state does not hold the event loop (serializing is the
    // checkpoint writer thread's).
    const checkpoint = checkpointDue
      ? o.checkpoints.prepare(
          processed,
          await o.usage.snapshotInSteps(nextTurn),
          o.rules?.rules.snapshot(),
          o.directory.snapshot(),
        )
      : undefined;
    // Handed over (copied) now, at the cut; written only once this write is accepted.
    const staged = checkpoint ? o.checkpoints.stage(checkpoint) : undefined;
    if (checkpoint) lastCheckpoint = now;
    const seq = processed;
    const t1 = performance.now();
    o.log.debug({ seq, rows: w.sink.figureRows, checkpoint: !!checkpoint }, 'write started');
    writing = (async () => {
      let sent = { published: 0, skipped: 0 };
      await Promise.all([
        retry(() => publishDeadLetters(o.js, w.deadLetters, o.deadLetterCaps), {
          ...NATS_HICCUPS,
          what: 'publish dead letters',
          log: o.log,
        }),
        o.sink.write(w.sink),
        o.outputs &&
          retry(async () => void (sent = await o.outputs!.publish(w.outputs)), {
            ...NATS_HICCUPS,
            what: 'publish rules outputs',
            log: o.log,
          }),
      ]).catch((cause: unknown) => {
        // A write that fails for good is the services' trouble, not the messages' in hand.
        throw cause instanceof PulsoError || cause instanceof ServiceError
          ? cause
          : new ServiceError('nats', `writing failed: ${(cause as Error).message}`, {}, { cause });
      });
      o.metrics.outputs.inc(sent.published);
      o.metrics.figureRows.inc(w.sink.figureRows);
      const t2 = performance.now();
      if (staged) {
        // A failed save (disk full, permissions changed) costs only a longer replay after a
        // crash: it is said loudly and retried at the next interval, never fatal.
        try {
          await o.checkpoints.save(staged);
          checkpointedSeq = seq;
          // Its cost: the picture (ingest paused) and the file, not the figures' write.
          const cost = t1 - t0 + (performance.now() - t2);
          checkpointSpacing = Math.min(
            CHECKPOINT_MAX_SPACING * o.checkpointMs,
            Math.max(o.checkpointMs, CHECKPOINT_DUTY * cost),
          );
          o.metrics.checkpointSeq.set(seq);
        } catch (e) {
          o.metrics.checkpointFailures.inc();
          o.log.error(
            { file: o.checkpoints.file, err: (e as Error).message },
            'checkpoint not saved (checkpoint.dir); figures are written, a restart replays more',
          );
        }
      }
      o.metrics.writtenSeq.set(seq);
      return {
        lastSeq: seq,
        rows: w.sink.figureRows,
        deadLetters: w.deadLetters.length,
        ...sent,
        checkpointed: !!checkpoint,
        encodeMs: Math.round(t1 - t0),
        writeMs: Math.round(t2 - t1),
        checkpointMs: Math.round(performance.now() - t2),
      };
    })();
    if (final) {
      const last = await writing;
      return last ?? previous;
    }
    return previous;
  };

  const due = () =>
    !outbox.empty &&
    (Date.now() - outbox.since >= o.flushIntervalMs || outbox.rows >= MAX_OUTBOX_ROWS);

  // A message may hold thousands of events and a batch thousands of messages: the events
  // go through the operators in slices, and a slice that filled the outbox is written
  // before the next, so memory stays bounded whatever the messages hold.
  const fold = (slice: Slice) => foldSlice(slice, o, outbox, (seq) => (processed = seq));
  const journal = o.journal;

  const process = async (b: MessageBatch): Promise<WriteResult | undefined> => {
    let result: WriteResult | undefined;
    const last = b.msgs[b.msgs.length - 1]!.info.streamSequence;
    const fetchStarted = Date.now();
    try {
      let slice = newSlice();
      // The journal notes what is in hand while it is folded (see crash-journal.ts).
      journal?.begin(b.msgs[0]!.info.streamSequence, last);
      for (const m of b.msgs) {
        const seq = m.info.streamSequence;
        // After a death in this range: one message at a time, each noted by itself.
        const alone = journal?.isSuspect(seq) ?? false;
        if (alone) {
          fold(slice);
          slice = newSlice();
          journal!.begin(seq, seq);
        }
        if (!decodeInto(slice, m, o)) continue;
        // Client updates and clock ticks end a slice: the rules stage must see them exactly
        // where they are in the stream relative to the events and midnights around them.
        if (
          alone ||
          slice.events.length >= o.batchSize ||
          slice.updates.length > 0 ||
          slice.clock !== undefined
        ) {
          fold(slice);
          slice = newSlice();
          // Nothing is in hand while waiting: a death now is not these messages' doing.
          journal?.end(processed);
          // A fetch is written when it ends (while the next is read, so writing overlaps
          // folding); one that holds the loop for long is written (and checkpointed) as it
          // goes, so a crash in it does not cost it all again.
          if (
            outbox.rows >= MAX_OUTBOX_ROWS ||
            (Date.now() - fetchStarted >= LONG_FETCH_MS && due())
          )
            result = await write(false);
          // Let the NATS client read its socket: a connection left unread for long is cut
          // by the server as a slow consumer.
          else await new Promise((r) => setImmediate(r));
          if (seq < last) journal?.begin(seq + 1, last);
        }
      }
      fold(slice);
      journal?.end(processed);
    } finally {
      b.done();
    }
    return due() ? write(false) : result;
  };

  const batches$ = messageBatches(
    o.js,
    o.stream,
    {
      afterSeq: o.afterSeq,
      waitMs: o.batchWaitMs,
      pullMessages: o.pullMessages,
      pullBytes: o.pullBytes,
    },
    (seq) =>
      o.log.warn(
        { afterSeq: seq },
        'a fetch did not end; reading again with a new ordered consumer',
      ),
  ).pipe(takeUntil(stop$));
  const ticks$ = interval(Math.max(10, o.flushIntervalMs)).pipe(
    takeUntil(stop$),
    map(() => 'tick' as const),
  );

  const results$ = merge(batches$, ticks$).pipe(
    concatMap((item) => from(item === 'tick' ? write(false) : process(item))),
    // Once the source ends, a last write and checkpoint: a clean stop restarts instantly.
    (src) =>
      concat(
        src,
        defer(() => from(write(true))),
      ),
    filter((r): r is WriteResult => r !== undefined),
  );
  return {
    results$,
    stop: () => stop$.next(),
    processedSeq: () => processed,
    pending: () => outbox.pending,
  };
}

interface Slice {
  events: TrackingEvent[];
  updates: ClientUpdate[];
  deadLetters: DeadLetter[];
  messages: number;
  lastSeq: number;
  pending: number;
  clock?: number;
}

const newSlice = (): Slice => ({
  events: [],
  updates: [],
  deadLetters: [],
  messages: 0,
  lastSeq: 0,
  pending: 0,
});

/** Decodes one message into the slice; false when the state already holds it. */
function decodeInto(slice: Slice, m: JsMsg, o: IngestOptions): boolean {
  const seq = m.info.streamSequence;
  if (seq <= o.usage.seq) return false; // already folded in (a fetch handed over twice)
  if (o.usage.seq > 0 && seq > o.usage.seq + 1)
    o.log.warn(
      { from: o.usage.seq + 1, to: seq - 1 },
      'stream sequences skipped (deleted from the stream?)',
    );
  o.usage.seq = slice.lastSeq = seq;
  slice.pending = m.info.pending;
  slice.messages++;
  const poisoned = o.journal?.poisoned(seq);
  if (poisoned) {
    // Decided at a start after two deaths here: refused whole, never processed again.
    slice.deadLetters.push(poisonDeadLetter(toInbound(m), poisoned));
    o.log.error({ seq, errors: poisoned.errors }, 'poison message dead-lettered, not processed');
    return true;
  }
  const d = decodeMessage(toInbound(m), o.limits);
  for (const e of d.events) slice.events.push(e);
  for (const u of d.clientUpdates) slice.updates.push(u);
  for (const dl of d.deadLetters) slice.deadLetters.push(dl);
  if (d.clock !== undefined) slice.clock = d.clock;
  return true;
}

function foldSlice(
  s: Slice,
  o: IngestOptions,
  outbox: Outbox,
  advance: (seq: number) => void,
): void {
  if (s.messages === 0) return;
  if (o.testFault) testFault(s, o.testFault);
  const stats = o.rules && { ...o.rules.rules.stats };
  const figures = o.usage.apply({ events: s.events, lastSeq: s.lastSeq, clock: s.clock }, o.rules);
  for (const e of figures.tooLate)
    s.deadLetters.push(tooLateDeadLetter(e, figures.watermark, o.allowedLatenessMs));
  for (const r of figures.refused)
    s.deadLetters.push(
      eventDeadLetter(r.event, { code: r.code, message: r.message, expected: 'room in the state' }),
    );
  if (figures.refused.length > 0)
    o.log.warn(
      { refused: figures.refused.length, first: figures.refused[0]!.message },
      'events beyond the state bounds (limits.*) dead-lettered',
    );
  const clients = s.updates.flatMap((u) => {
    if (!o.usage.admission.admitsClient(u.clientId)) {
      s.deadLetters.push(clientLimitDeadLetter(u, o.maxClients));
      return [];
    }
    o.rules?.rules.know(u.clientId, u.ts);
    return o.directory.apply(u);
  });
  // The raw events table holds what the figures count: not the refused, too late or repeated.
  outbox.add(
    figures,
    s.messages,
    figures.counted,
    clients,
    s.deadLetters,
    o.rules?.take(),
    o.rules?.takeScores(),
  );
  outbox.pending = s.pending;
  o.metrics.consumerLag.set(s.pending);
  advance(s.lastSeq);

  const byKind: Record<string, number> = {};
  for (const e of figures.counted) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  o.metrics.messages.inc(s.messages);
  o.metrics.batches.inc();
  for (const [kind, n] of Object.entries(byKind)) o.metrics.accepted.inc({ kind }, n);
  for (const dl of s.deadLetters) o.metrics.invalid.inc({ reason: dl.reason.code });
  o.metrics.tooLate.inc(figures.tooLate.length);
  o.metrics.duplicates.inc(figures.duplicates);
  o.metrics.clients.set(o.usage.admission.clientCount);
  o.metrics.idHorizon.set(o.usage.ids.effectiveHorizonMs / 1000);
  o.metrics.clientUpdates.inc(s.updates.length);
  o.metrics.watermark.set(Number.isFinite(figures.watermark) ? figures.watermark / 1000 : 0);
  o.metrics.evaluations.inc(figures.boundaries);
  if (o.rules?.last && figures.boundaries > 0) o.log.info(o.rules.last, 'midnight evaluated');
  if (o.rules && stats) {
    o.metrics.playbookEvaluations.inc(o.rules.rules.stats.evaluations - stats.evaluations);
    o.metrics.playbookFirings.inc(o.rules.rules.stats.fired - stats.fired);
  }
}

/**
 * Test-only: an event of this client makes the fold fail, as a bug would — by throwing, or
 * by the process dying on the spot (SIGKILL: no handler runs, no last word is written).
 */
function testFault(s: Slice, fault: TestFault): void {
  if (!s.events.some((e) => e.clientId === fault.clientId)) return;
  if (fault.mode === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new Error(`test fault: an event of client ${fault.clientId}`);
}
