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
import type { Consumer, JetStreamClient, JsMsg } from 'nats';
import { TimeoutError } from 'p-timeout';
import { Observable } from 'rxjs';
import { retry, withTimeout } from '../../retry.js';
import type { InboundMessage } from '../../../schemas/types.js';

export interface MessageBatch {
  msgs: JsMsg[];
  /** Call once the batch is processed: the next one may then be handed on. */
  done(): void;
}

/** How long a fetch should take to fill at the rate of the one before it. */
const FILL_MS = 100;

export interface BatchOptions {
  afterSeq: number;
  pullMessages: number;
  pullBytes: number;
  /** How long a fetch waits for its messages (at least 1 s, the client's minimum). */
  waitMs: number;
}

/** One fetch, bounded in time: what arrived goes into `into`; 'stuck' if it did not end. */
async function fetchWithin(
  consumer: Consumer,
  n: number,
  expires: number,
  into: JsMsg[],
): Promise<'ok' | 'stuck'> {
  const deadline = Date.now() + expires + 2000;
  const inTime = <T>(p: Promise<T>) =>
    withTimeout(p, Math.max(0, deadline - Date.now()), 'fetch did not end').then(
      (v) => ({ v }),
      (e: unknown) => {
        if (e instanceof TimeoutError) return 'late' as const;
        throw e;
      },
    );
  const fetched = await inTime(consumer.fetch({ max_messages: n, expires }));
  if (fetched === 'late') return 'stuck';
  const it = fetched.v[Symbol.asyncIterator]();
  for (;;) {
    const next = await inTime(it.next());
    if (next === 'late') {
      fetched.v.stop();
      return 'stuck';
    }
    if (next.v.done) return 'ok';
    into.push(next.v.value);
  }
}

export function messageBatches(
  js: JetStreamClient,
  stream: string,
  o: BatchOptions,
  onStuck: (afterSeq: number) => void = () => undefined,
): Observable<MessageBatch> {
  return new Observable<MessageBatch>((subscriber) => {
    let stopped = false;
    (async () => {
      try {
        // nats.js starts ordered consumers by sequence; naming a deliver policy besides
        // opt_start_seq makes the server refuse the consumer, silently retried forever.
        // A cluster electing a leader (a node lost) answers nothing for seconds: waited out.
        const patiently = <T>(what: string, fn: () => Promise<T>) =>
          retry(fn, {
            what,
            attempts: 30,
            minDelayMs: 200,
            maxDelayMs: 2000,
            stopped: () => stopped,
          });
        const orderedAfter = (seq: number) =>
          patiently('create the ordered consumer', () =>
            js.consumers.get(stream, seq > 0 ? { opt_start_seq: seq + 1 } : {}),
          );
        const jsm = await js.jetstreamManager();
        let consumer = await orderedAfter(o.afterSeq);
        let lastSeq = o.afterSeq;
        // Sized from the largest message of the previous fetch; the first fetch takes one.
        let n = 1;
        let credit: Promise<void> = Promise.resolve();
        while (!stopped) {
          const msgs: JsMsg[] = [];
          // A fetch failing outright (its consumer lost with a node) is a stall, like one
          // that never ends: a new consumer is made after the last message taken.
          const fetchedAt = performance.now();
          const outcome = await fetchWithin(consumer, n, Math.max(1000, o.waitMs), msgs).catch(
            () => 'stuck' as const,
          );
          const fetchMs = performance.now() - fetchedAt;
          if (msgs.length > 0) lastSeq = msgs[msgs.length - 1]!.info.streamSequence;
          // A fetch has been seen to stall for good once the client's event loop was busy
          // for seconds: the ordered consumer is then replaced by a new one after the last
          // message taken (one handed over twice is skipped downstream by its sequence).
          // An empty fetch while the stream holds more has also been seen: same remedy.
          const stalled =
            outcome === 'stuck' ||
            (msgs.length === 0 &&
              (await patiently('read the stream info', () => jsm.streams.info(stream))).state
                .last_seq > lastSeq);
          if (stalled) {
            onStuck(lastSeq);
            consumer = await orderedAfter(lastSeq);
          }
          const largest = msgs.reduce((m, x) => Math.max(m, x.data.length), 0);
          // A fetch returns once it holds n messages (or expires): n is what arrives in
          // about FILL_MS at the rate just seen, so a trickle waits a tenth of a second,
          // not the fetch's whole wait, and a backlog fetches as much as fits.
          const byBytes = Math.floor(o.pullBytes / Math.max(largest, 256));
          const byRate = Math.ceil((msgs.length / Math.max(fetchMs, 1)) * FILL_MS);
          if (largest > 0) n = Math.max(1, Math.min(o.pullMessages, byBytes, byRate));
          else if (outcome === 'ok') n = 1;
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
    })().catch((e: unknown) => subscriber.error(e));
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
