/**
 * Wall-clock ticks for live operation. Event time only moves when events arrive; a quiet
 * night would leave midnights unpassed and inactive clients unnoticed. So, when the
 * tracking stream has been idle for a whole interval and the pipeline has read all of it,
 * this records the wall clock in the stream itself (`tracking.clock`). Being in the stream,
 * a tick is seen at the same position by a replay: results stay a function of the stream.
 *
 * Ticks wait for a whole idle interval so that a history being published (a backfill, the
 * demo) is never overtaken by "now", which would make the rest of it too late.
 */
import type { JetStreamClient, JetStreamManager } from 'nats';
import { SUBJECT_CLOCK } from '../../contract/decode.js';
import type { Logger } from '../../log.js';

export function startClock(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  everyMs: number,
  processedSeq: () => number,
  log: Logger,
): () => void {
  let lastSeen = -1;
  const timer = setInterval(() => {
    void (async () => {
      const last = (await jsm.streams.info(stream)).state.last_seq;
      const idle = last === lastSeen && processedSeq() >= last && last > 0;
      lastSeen = last;
      if (!idle) return;
      const ts = Date.now();
      await js.publish(SUBJECT_CLOCK, new TextEncoder().encode(JSON.stringify({ ts })));
      log.debug({ ts: new Date(ts).toISOString() }, 'clock tick recorded');
    })().catch((e: Error) => log.warn({ err: e.message }, 'clock tick failed'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
