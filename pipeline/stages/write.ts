/**
 * The sink of the tracking chain, for `writeInOrder`: a cut's write puts its rows in
 * QuestDB and publishes its dead letters and rules outputs on NATS, all at once; its
 * commit then saves the checkpoint staged at the cut and reports the `WriteResult`.
 *
 * A write that fails for good (after the adapters' retries) is fatal and named as the
 * services' trouble, not the messages'. A failed checkpoint save (disk full, permissions
 * changed) only costs a longer replay after a crash: said loudly, retried at the next cut.
 */
import type { JetStreamClient } from 'nats';
import type { OutputPublisher } from '../adapters/nats/outputs.js';
import { publishDeadLetters } from '../adapters/nats/dead-letters.js';
import type { QuestDbSink } from '../adapters/questdb/sink.js';
import type { DeadLetterCaps } from '../contract/dead-letter.js';
import { PartitionLostError } from '../adapters/nats/partition-store.js';
import { PulsoError, ServiceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from '../metrics.js';
import { retry } from '../retry.js';
import type { CheckpointPolicy } from './checkpoints.js';
import type { Cut, WriteResult } from './units.js';
import type { OrderedSink } from './write-in-order.js';

export interface WriteOptions {
  js: JetStreamClient;
  sink: QuestDbSink;
  outputs: OutputPublisher;
  checkpoints: CheckpointPolicy;
  deadLetterCaps: DeadLetterCaps;
  metrics: IngestMetrics;
  log: Logger;
}

/** NATS hiccups (a reconnect, a slow ack) are waited out, not turned into failures. */
const NATS_HICCUPS = { attempts: 60, minDelayMs: 200, maxDelayMs: 5000 };

export interface CutSink extends OrderedSink<Cut, WriteResult> {
  /** Resolves once no write is in flight (its commit done, or failed). */
  idle(): Promise<void>;
}

export function cutSink(o: WriteOptions): CutSink {
  const done = new WeakMap<Cut, { published: number; skipped: number; at: number; ms: number }>();
  let current: Promise<void> = Promise.resolve();
  let release = () => undefined as void;
  return {
    idle: () => current,
    accepted: (cut) => {
      current = new Promise<void>((r) => (release = r));
      cut.accepted();
    },
    async write(cut) {
      const t1 = performance.now();
      const w = cut.write;
      o.log.debug(
        { seq: cut.seq, rows: w.sink.figureRows, checkpoint: !!cut.checkpoint },
        'write started',
      );
      let sent = { published: 0, skipped: 0 };
      await Promise.all([
        retry(() => publishDeadLetters(o.js, w.deadLetters, o.deadLetterCaps), {
          ...NATS_HICCUPS,
          what: 'publish dead letters',
          log: o.log,
        }),
        o.sink.write(w.sink),
        retry(async () => void (sent = await o.outputs.publish(w.outputs)), {
          ...NATS_HICCUPS,
          what: 'publish rules outputs',
          log: o.log,
        }),
      ]).catch((cause: unknown) => {
        throw cause instanceof PulsoError || cause instanceof ServiceError
          ? cause
          : new ServiceError('nats', `writing failed: ${(cause as Error).message}`, {}, { cause });
      });
      o.metrics.outputs.inc(sent.published);
      o.metrics.figureRows.inc(w.sink.figureRows);
      done.set(cut, { ...sent, at: performance.now(), ms: performance.now() - t1 });
    },
    async commit(cut) {
      const w = done.get(cut)!;
      if (cut.checkpoint) {
        try {
          // Its cost: the picture (ingest paused) and the file, not the figures' write.
          await o.checkpoints.save(
            cut.checkpoint,
            cut.seq,
            () => cut.cutMs + (performance.now() - w.at),
          );
          o.metrics.checkpointSeq.set(cut.seq);
        } catch (e) {
          // Another worker owns the partition now: this chain must end (chain.ts).
          if (e instanceof PartitionLostError) {
            release();
            throw e;
          }
          o.metrics.checkpointFailures.inc();
          o.log.error(
            { at: o.checkpoints.file, err: (e as Error).message },
            'checkpoint not saved; figures are written, a restart replays more',
          );
        }
      }
      o.metrics.writtenSeq.set(cut.seq);
      release();
      return {
        lastSeq: cut.seq,
        rows: cut.write.sink.figureRows,
        deadLetters: cut.write.deadLetters.length,
        published: w.published,
        skipped: w.skipped,
        checkpointed: !!cut.checkpoint,
        encodeMs: Math.round(cut.cutMs),
        writeMs: Math.round(w.ms),
        checkpointMs: Math.round(performance.now() - w.at),
      };
    },
  };
}
