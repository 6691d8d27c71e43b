/**
 * The ingest stage, from JetStream to QuestDB:
 *
 *   tracking messages ─► micro-batches (size or time) ─► decode (pure) ─► dead letters ─┐
 *                                                                  └──► QuestDB rows ──┴─► ack
 *
 * RxJS orchestrates batches, never single events: per-event work happens in plain loops.
 * A batch's messages are acknowledged only after QuestDB has accepted its rows and
 * JetStream holds its dead letters, so a crash at any point leads to a redelivery, never
 * to a loss; the idempotent sinks turn that into exactly-once results.
 */
import type { Consumer, JetStreamClient, JsMsg } from 'nats';
import {
  bufferTime,
  concatMap,
  filter,
  from,
  type Observable,
  Subject,
  takeUntil,
  tap,
} from 'rxjs';
import { publishDeadLetters } from './adapters/nats/dead-letters.js';
import { toInbound, trackingMessages } from './adapters/nats/source.js';
import type { QuestDbSink } from './adapters/questdb/sink.js';
import type { ClientDirectory } from './contract/client-directory.js';
import { decodeMessage } from './contract/decode.js';
import type { Limits } from './contract/limits.js';
import type { ClientUpdate, DeadLetter, TrackingEvent } from './contract/types.js';
import type { Logger } from './log.js';
import type { IngestMetrics } from './metrics.js';

export interface IngestOptions {
  consumer: Consumer;
  js: JetStreamClient;
  sink: QuestDbSink;
  directory: ClientDirectory;
  metrics: IngestMetrics;
  log: Logger;
  limits: Limits;
  batchSize: number;
  batchWaitMs: number;
  ackWaitMs: number;
}

export interface BatchResult {
  messages: number;
  events: number;
  clientUpdates: number;
  deadLetters: number;
  lastSeq: number;
}

export interface Ingest {
  results$: Observable<BatchResult>;
  /** Stops pulling; batches already received are finished and acknowledged. */
  stop(): void;
}

export function createIngest(o: IngestOptions): Ingest {
  const stop$ = new Subject<void>();
  const inFlight = new InFlight(o.ackWaitMs, o.metrics);

  const results$ = trackingMessages(o.consumer, Math.max(o.batchSize * 2, 256)).pipe(
    takeUntil(stop$),
    tap((m) => inFlight.add(m)),
    bufferTime(o.batchWaitMs, null, o.batchSize),
    filter((batch) => batch.length > 0),
    concatMap((batch) => from(processBatch(batch, o))),
    tap({
      next: (r) => inFlight.settle(r.messages),
      finalize: () => inFlight.close(),
    }),
  );
  return { results$, stop: () => stop$.next() };
}

async function processBatch(batch: JsMsg[], o: IngestOptions): Promise<BatchResult> {
  const events: TrackingEvent[] = [];
  const updates: ClientUpdate[] = [];
  const deadLetters: DeadLetter[] = [];
  const byKind: Record<string, number> = {};
  for (const m of batch) {
    const d = decodeMessage(toInbound(m), o.limits);
    for (const e of d.events) {
      events.push(e);
      byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    }
    for (const u of d.clientUpdates) updates.push(u);
    for (const dl of d.deadLetters) deadLetters.push(dl);
  }
  const clients = updates.flatMap((u) => o.directory.apply(u));

  await Promise.all([
    retrying('publish dead letters', () => publishDeadLetters(o.js, deadLetters), o.log),
    o.sink.write({ events, clients }),
  ]);
  // A lost ack only means a redelivery, which the sinks absorb: send them without waiting,
  // then confirm the last so the batch is known settled before the next one.
  for (let i = 0; i < batch.length - 1; i++) batch[i]!.ack();
  const last = batch[batch.length - 1]!;
  await retrying('acknowledge batch', () => last.ackAck().then(() => undefined), o.log);

  o.metrics.messages.inc(batch.length);
  o.metrics.batches.inc();
  for (const [kind, n] of Object.entries(byKind)) o.metrics.accepted.inc({ kind }, n);
  for (const dl of deadLetters) o.metrics.invalid.inc({ reason: dl.reason.code });
  o.metrics.clientUpdates.inc(updates.length);
  return {
    messages: batch.length,
    events: events.length,
    clientUpdates: updates.length,
    deadLetters: deadLetters.length,
    lastSeq: last.info.streamSequence,
  };
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

/**
 * Messages received and not yet acknowledged. While a batch waits (QuestDB down), the
 * server would redeliver them after ack_wait; telling it we are still working stops that.
 */
class InFlight {
  private readonly msgs: { m: JsMsg; at: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ackWaitMs: number,
    private readonly metrics: IngestMetrics,
  ) {
    this.timer = setInterval(() => this.keepAlive(), Math.max(1000, ackWaitMs / 3));
    this.timer.unref();
  }

  add(m: JsMsg): void {
    this.msgs.push({ m, at: Date.now() });
    this.metrics.inFlight.set(this.msgs.length);
  }

  /** Batches are cut from the front, in arrival order: a settled batch is the first `n`. */
  settle(n: number): void {
    this.msgs.splice(0, n);
    this.metrics.inFlight.set(this.msgs.length);
  }

  private keepAlive(): void {
    const old = Date.now() - this.ackWaitMs / 3;
    for (const x of this.msgs) {
      if (x.at > old) break;
      x.m.working();
      x.at = Date.now();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
