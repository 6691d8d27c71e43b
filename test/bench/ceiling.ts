/**
 * The ceiling: a bare JetStream consumer that parses each message and counts per
 * (client, event name), acknowledging with ack-all every 1,000 messages — what the
 * hardware, NATS and JSON parsing allow before any of Pulso's work. It connects as the
 * pipeline role: the admin role may not acknowledge, and unacknowledged messages stall
 * delivery at max_ack_pending (a past run's one-event ceiling read 832 events/s).
 */
import { AckPolicy, DeliverPolicy, type NatsConnection } from 'nats';
import { tableFromIPC } from 'apache-arrow';

export type Decode = 'json' | 'arrow';

export async function ceiling(
  nc: NatsConnection,
  stream: string,
  subject: string,
  startSeq: number,
  expected: number,
  decode: Decode,
): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const name = `ceiling-${Date.now()}`;
  await jsm.consumers.add(stream, {
    durable_name: name,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
    filter_subject: subject,
    max_ack_pending: 20_000,
  });
  const consumer = await nc.jetstream().consumers.get(stream, name);
  const counts = new Map<string, number>();
  const text = new TextDecoder();
  let events = 0;
  let msgs = 0;
  const t0 = performance.now();
  // Bounded by bytes: a pull of 5,000 messages of 300 kB each would ask for 1.5 GB at once.
  const iter = await consumer.consume({ max_bytes: 32 * 1024 * 1024 });
  for await (const m of iter) {
    if (decode === 'json') {
      const doc = JSON.parse(text.decode(m.data)) as
        { client_id: string; name: string } | { client_id: string; name: string }[];
      for (const e of Array.isArray(doc) ? doc : [doc]) {
        const k = `${e.client_id}\u0000${e.name}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
        events++;
      }
    } else {
      const t = tableFromIPC(m.data);
      const c = t.getChild('client_id')!;
      const n = t.getChild('name')!;
      for (let i = 0; i < t.numRows; i++) {
        const k = `${c.get(i) as string}\u0000${n.get(i) as string}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
        events++;
      }
    }
    if (++msgs % 1000 === 0) m.ack();
    if (events >= expected) {
      m.ack();
      break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  iter.stop();
  await jsm.consumers.delete(stream, name);
  return events / seconds;
}
