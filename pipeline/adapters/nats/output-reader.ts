/**
 * Reads the output stream for the restart tail check (outputs.ts): its last sequence, and
 * the `Nats-Msg-Id` of every message after a sequence — headers only, through an ordered
 * consumer, up to the last message there was when the read began.
 */
import type { JetStreamClient, JetStreamManager } from 'nats';
import type { OutputStreamReader } from './outputs.js';

export function outputStreamReader(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
): OutputStreamReader {
  const lastSeq = async () => (await jsm.streams.info(stream)).state.last_seq;
  return {
    lastSeq,
    async idsAfter(seq) {
      const ids = new Set<string>();
      const last = await lastSeq();
      if (last <= seq) return ids;
      const consumer = await js.consumers.get(stream, {
        opt_start_seq: seq + 1,
        headers_only: true,
      });
      for (let at = seq; at < last;) {
        // No more than remain: a fetch asking for more would wait out its expiry.
        const batch = await consumer.fetch({
          max_messages: Math.min(1000, last - at),
          expires: 5000,
        });
        let got = 0;
        for await (const m of batch) {
          got++;
          at = m.info.streamSequence;
          const id = m.headers?.get('Nats-Msg-Id');
          if (id) ids.add(id);
          if (at >= last) break;
        }
        // Messages purged by the stream's limits meanwhile: nothing more to read.
        if (got === 0) break;
      }
      await consumer.delete().catch(() => undefined);
      return ids;
    },
  };
}
