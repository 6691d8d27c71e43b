/**
 * The tracking stream as an Observable of message batches, read with an ordered consumer
 * that starts right after a given stream sequence (the last checkpoint). An ordered
 * consumer needs no acknowledgements and re-creates itself on any gap, so messages come
 * exactly once and in stream order — what a deterministic fold over the stream needs.
 *
 * Each batch is one fetch, sized so it holds about `pullBytes` (from the largest message of
 * the previous fetch, at most `pullMessages`): one-event messages come thousands at a time,
 * 150 KB batch messages a few dozen. RxJS has no backpressure, so the loop is the flow control: it
 * fetches the next batch while the previous one is processed, and hands it on only once
 * that one is done. At most one fetch is outstanding, so the server never holds more than
 * `pullBytes` for Pulso (past its 64 MB it would cut the connection as a slow consumer).
 */
import type { JetStreamClient, JsMsg } from 'nats';
import { Observable } from 'rxjs';
import type { InboundMessage } from '../../contract/types.js';

export interface MessageBatch {
  msgs: JsMsg[];
  /** Call once the batch is processed: the next one may then be handed on. */
  done(): void;
}

export interface BatchOptions {
  afterSeq: number;
  pullMessages: number;
  pullBytes: number;
  /** How long a fetch waits for its messages (at least 1 s, the client's minimum). */
  waitMs: number;
}

export function messageBatches(
  js: JetStreamClient,
  stream: string,
  o: BatchOptions,
): Observable<MessageBatch> {
  return new Observable<MessageBatch>((subscriber) => {
    let stopped = false;
    void (async () => {
      try {
        // nats.js starts ordered consumers by sequence; naming a deliver policy besides
        // opt_start_seq makes the server refuse the consumer, silently retried forever.
        const consumer = await js.consumers.get(
          stream,
          o.afterSeq > 0 ? { opt_start_seq: o.afterSeq + 1 } : {},
        );
        // Sized from the largest message of the previous fetch; the first fetch takes one.
        let n = 1;
        let credit: Promise<void> = Promise.resolve();
        while (!stopped) {
          const expires = Math.max(1000, o.waitMs);
          const fetched = await consumer.fetch({ max_messages: n, expires });
          const msgs: JsMsg[] = [];
          let largest = 0;
          // A fetch that got part of its messages has been seen to never end: it is given
          // its expiry plus a second. Messages it had not yet handed over are delivered by
          // the next fetch (the ordered consumer resumes after the last one taken); one
          // handed over twice is skipped downstream by its stream sequence.
          const it = fetched[Symbol.asyncIterator]();
          const giveUp = Date.now() + expires + 1000;
          for (;;) {
            let timer: NodeJS.Timeout | undefined;
            const next = await Promise.race([
              it.next(),
              new Promise<'late'>(
                (r) => (timer = setTimeout(() => r('late'), Math.max(0, giveUp - Date.now()))),
              ),
            ]).finally(() => clearTimeout(timer));
            if (next === 'late') {
              fetched.stop();
              break;
            }
            if (next.done) break;
            msgs.push(next.value);
            largest = Math.max(largest, next.value.data.length);
          }
          if (largest > 0)
            n = Math.max(
              1,
              Math.min(o.pullMessages, Math.floor(o.pullBytes / Math.max(largest, 256))),
            );
          if (msgs.length === 0) continue;
          await credit;
          if (stopped) break;
          let release!: () => void;
          credit = new Promise<void>((r) => (release = r));
          subscriber.next({ msgs, done: release });
        }
        await credit;
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    })();
    return () => {
      stopped = true;
    };
  });
}

/** The JetStream message, reduced to what the pure core needs. */
export function toInbound(m: JsMsg): InboundMessage {
  let headers: Record<string, string> | undefined;
  if (m.headers) {
    headers = {};
    for (const [k, v] of m.headers) headers[k] = v.join(',');
  }
  return {
    subject: m.subject,
    data: m.data,
    ...(headers ? { headers } : {}),
    streamSeq: m.info.streamSequence,
    storedAt: Math.floor(m.info.timestampNanos / 1e6),
  };
}
