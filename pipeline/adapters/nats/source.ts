/**
 * The tracking messages as an Observable. The server bounds how many unacknowledged
 * messages Pulso holds (the consumer's max_ack_pending): RxJS has no backpressure, so that
 * bound is the flow control. Unsubscribing stops the pull; messages already delivered
 * still flow out so they can be finished and acknowledged.
 */
import { Observable } from 'rxjs';
import type { Consumer, JsMsg } from 'nats';
import type { InboundMessage } from '../../contract/types.js';

export function trackingMessages(consumer: Consumer, pullSize: number): Observable<JsMsg> {
  return new Observable<JsMsg>((subscriber) => {
    let stopped = false;
    let iter: Awaited<ReturnType<Consumer['consume']>> | undefined;
    void (async () => {
      try {
        iter = await consumer.consume({ max_messages: pullSize });
        if (stopped) iter.stop();
        for await (const m of iter) subscriber.next(m);
        subscriber.complete();
      } catch (e) {
        subscriber.error(e);
      }
    })();
    return () => {
      stopped = true;
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
