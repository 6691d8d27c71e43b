/**
 * JetStream publishes with many acknowledgements in flight on one subscription.
 *
 * `js.publish` makes a request per message: a reply subscription entry, a timer and (with
 * or without async traces) an error object each, which cost more than the publish when a
 * midnight sends hundreds of thousands of outputs. Here every message's reply subject is
 * `<inbox>.<n>` under one wildcard subscription, acknowledgements are matched by `n`, and
 * one sweep a second fails those past their deadline. A failure (JetStream's error
 * answer, no stream, a timeout) rejects that message's promise; the caller retries the
 * whole part, and `Nats-Msg-Id` makes JetStream drop what it already holds.
 */
import { createInbox, headers as natsHeaders, type MsgHdrs, type NatsConnection } from 'nats';
import { ServiceError } from '../../errors.js';

interface Waiting {
  resolve(): void;
  reject(e: Error): void;
  deadline: number;
}

const dec = new TextDecoder();

export interface PublishOptions {
  msgID: string;
  headers?: MsgHdrs;
}

export class AckedPublisher {
  private readonly prefix: string;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;
  private readonly sweep: NodeJS.Timeout;
  private readonly sub;

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, m) => {
        if (err) return;
        this.answer(Number(m.subject.slice(this.prefix.length)), m.data, m.headers);
      },
    });
    this.sweep = setInterval(() => this.expire(Date.now()), 1000);
    this.sweep.unref();
  }

  /** Resolves once the stream holds the message (or held it already: a duplicate). */
  publish(subject: string, data: Uint8Array, o: PublishOptions): Promise<void> {
    const n = ++this.next;
    const h = o.headers ?? natsHeaders();
    h.set('Nats-Msg-Id', o.msgID);
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}${n}`, headers: h });
      } catch (e) {
        this.waiting.delete(n);
        reject(e as Error);
      }
    });
  }

  /** Messages whose acknowledgement has not come yet. */
  get inFlight(): number {
    return this.waiting.size;
  }

  close(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    this.expire(Infinity);
  }

  private answer(n: number, data: Uint8Array, h: MsgHdrs | undefined): void {
    const w = this.waiting.get(n);
    if (!w) return; // timed out already: the caller has retried
    this.waiting.delete(n);
    // A status message (503: no stream for the subject) has no JSON body.
    if (h && h.code >= 300) {
      w.reject(new ServiceError('nats', `publish refused: ${h.code} ${h.description}`));
      return;
    }
    let ack: { error?: { description?: string; code?: number } };
    try {
      ack = JSON.parse(dec.decode(data)) as typeof ack;
    } catch {
      w.reject(new ServiceError('nats', 'publish: an acknowledgement that is not JSON'));
      return;
    }
    if (ack.error)
      w.reject(
        new ServiceError('nats', `publish refused: ${ack.error.code} ${ack.error.description}`),
      );
    else w.resolve();
  }

  private expire(now: number): void {
    for (const [n, w] of this.waiting)
      if (w.deadline <= now) {
        this.waiting.delete(n);
        w.reject(new ServiceError('nats', `no acknowledgement within ${this.timeoutMs} ms`));
      }
  }
}
