/**
 * The tracking stream as an Observable of message batches, read with an ordered consumer
 * that starts right after a given stream sequence (the last checkpoint). An ordered
 * consumer needs no acknowledgements and re-creates itself on any gap, so messages come
 * exactly once and in stream order — what a deterministic fold over the stream needs.
 *
 * RxJS has no backpressure, so the pull loop is the flow control: a batch is handed on
 * with a `done` callback, and the loop does not cut the next full batch until the previous
 * one is done. A partial batch goes out after `waitMs`.
 */
import type { JetStreamClient, JsMsg } from 'nats';
import { Observable } from 'rxjs';
import type { InboundMessage } from '../../contract/types.js';

export interface MessageBatch {
  msgs: JsMsg[];
  /** Call once the batch is processed: the next one may then be cut. */
  done(): void;
}

export interface BatchOptions {
  afterSeq: number;
  size: number;
  waitMs: number;
  pullMessages: number;
}

export function messageBatches(
  js: JetStreamClient,
  stream: string,
  o: BatchOptions,
): Observable<MessageBatch> {
  return new Observable<MessageBatch>((subscriber) => {
    let stopped = false;
    let iter: { stop(): void } | undefined;
    let buf: JsMsg[] = [];
    let timer: NodeJS.Timeout | undefined;
    let credit: Promise<void> = Promise.resolve();
    let chain: Promise<void> = Promise.resolve();

    const cut = () =>
      (chain = chain.then(async () => {
        await credit;
        clearTimeout(timer);
        timer = undefined;
        if (buf.length === 0 || subscriber.closed) return;
        const msgs = buf;
        buf = [];
        let release!: () => void;
        credit = new Promise<void>((r) => (release = r));
        subscriber.next({ msgs, done: release });
      }));

    void (async () => {
      try {
        // nats.js starts ordered consumers by sequence; naming a deliver policy besides
        // opt_start_seq makes the server refuse the consumer, silently retried forever.
        const consumer = await js.consumers.get(
          stream,
          o.afterSeq > 0 ? { opt_start_seq: o.afterSeq + 1 } : {},
        );
        const messages = await consumer.consume({ max_messages: o.pullMessages });
        iter = messages;
        if (stopped) messages.stop();
        for await (const m of messages) {
          buf.push(m);
          if (buf.length >= o.size) await cut();
          else timer ??= setTimeout(() => void cut(), o.waitMs);
        }
        await cut();
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    })();
    return () => {
      stopped = true;
      clearTimeout(timer);
      iter?.stop();
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
