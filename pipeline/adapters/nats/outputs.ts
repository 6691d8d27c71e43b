/**
 * Publishes the rules stage's outputs into the output stream (`cs.>`), each with its
 * deterministic id as `Nats-Msg-Id` and its evaluation time as `Pulso-At`, and waits until
 * JetStream holds every one (a checkpoint follows only then).
 *
 * Outputs come in evaluation order, so the stream's tail says what was already published:
 * at start the publisher reads the last message's `Pulso-At` and the ids published at that
 * time; a restart or a replay then skips every output evaluated earlier, and those ids.
 * Nothing is published twice, however long ago the first publication was, and JetStream's
 * duplicate window guards the rest.
 *
 * Each output is signed (output-signature.ts). The tail is read from signed outputs only,
 * and never from a time later than the wall clock: a message someone else put on `cs.>`
 * (say, dated 2100) cannot make the publisher skip real outputs.
 */
import { headers as natsHeaders, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Output } from '../../../operators/playbooks/outputs.js';
import { SIGNATURE_HEADER, type OutputSigner } from './output-signature.js';

export const OUTPUT_SUBJECTS = 'cs.>';
const CHUNK = 1000;
const enc = new TextEncoder();

export class OutputPublisher {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly signer: OutputSigner,
    /** Evaluation time of the last output the stream holds (-∞: none). */
    private tailAt: number,
    /** Ids the stream holds at that time. */
    private readonly tailIds: Set<string>,
    /** Messages in the tail not signed by Pulso, or dated after the wall clock: ignored. */
    readonly ignored: number,
  ) {}

  static async open(
    js: JetStreamClient,
    jsm: JetStreamManager,
    stream: string,
    signer: OutputSigner,
    now = Date.now(),
  ): Promise<OutputPublisher> {
    const info = await jsm.streams.info(stream);
    const ids = new Set<string>();
    let tailAt = -Infinity;
    let ignored = 0;
    // Read back from the end while the evaluation time stays the tail's, 256 at a time.
    for (
      let hi = info.state.last_seq;
      hi >= info.state.first_seq && info.state.messages > 0;
      hi -= 256
    ) {
      const seqs: number[] = [];
      for (let s = hi; s > hi - 256 && s >= info.state.first_seq; s--) seqs.push(s);
      const msgs = await Promise.all(
        seqs.map((seq) => jsm.streams.getMessage(stream, { seq }).catch(() => undefined)),
      );
      let older = false;
      for (const m of msgs) {
        if (!m) continue; // deleted
        const at = Number(m.header.get('Pulso-At'));
        if (!signer.verifies(m.subject, m.header, m.data) || !(at <= now)) {
          ignored++;
          continue;
        }
        if (tailAt === -Infinity) tailAt = at;
        if (at !== tailAt) older = true;
        else ids.add(m.header.get('Nats-Msg-Id'));
      }
      if (older) break;
    }
    return new OutputPublisher(js, signer, tailAt, ids, ignored);
  }

  /** Publishes what the stream does not hold yet; resolves once JetStream has all of it. */
  async publish(outputs: readonly Output[]): Promise<{ published: number; skipped: number }> {
    let published = 0;
    let skipped = 0;
    for (let i = 0; i < outputs.length; i += CHUNK) {
      const acks: Promise<unknown>[] = [];
      for (const o of outputs.slice(i, i + CHUNK)) {
        if (o.at < this.tailAt || (o.at === this.tailAt && this.tailIds.has(o.id))) {
          skipped++;
          continue;
        }
        const h = natsHeaders();
        const body = enc.encode(JSON.stringify(o.body));
        h.set('Pulso-At', String(o.at));
        h.set('Pulso-Kind', o.kind);
        h.set('Content-Type', 'application/json');
        h.set(SIGNATURE_HEADER, this.signer.sign(o.id, String(o.at), o.subject, body));
        acks.push(
          this.js.publish(o.subject, body, {
            msgID: o.id,
            headers: h,
          }),
        );
        published++;
      }
      await Promise.all(acks);
    }
    const last = outputs[outputs.length - 1];
    if (last && last.at > this.tailAt) {
      this.tailAt = last.at;
      this.tailIds.clear(); // everything from here on is new
    }
    return { published, skipped };
  }
}
