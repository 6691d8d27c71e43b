/**
 * Publishes the rules stage's outputs into the output stream (`cs.>`), each with its
 * deterministic id as `Nats-Msg-Id` and its evaluation time as `Pulso-At`, and waits until
 * JetStream holds every one (a checkpoint follows only then).
 *
 * A partition's outputs come in evaluation order, and a replay of the partition yields the
 * same outputs in the same order. So where its outputs stopped is two numbers — the last
 * evaluation time published and how many outputs of that time — kept per partition in the
 * partition state (`tail.<p>`, partition-store.ts) after every publish. A restart or a
 * replay skips every output evaluated earlier, and the first `count` of that time: nothing
 * is published twice, however long ago the first publication was. Before a publish the
 * tail records its intent (the stream's last sequence then): a start after a crash in the
 * middle reads which ids the stream holds after it and skips them, however long the
 * restart took (JetStream's duplicate window is a second guard). The tail lives where only the pipeline role may
 * write: a message someone else puts on `cs.>` (say, dated 2100) changes nothing.
 *
 * Each output is signed (output-signature.ts), for the webhook deliverer to verify.
 */
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import type { Output } from '../../../operators/playbooks/outputs.js';
import { SIGNATURE_HEADER, type OutputSigner } from './output-signature.js';
import type { OutputTail } from './partition-store.js';

export const OUTPUT_SUBJECTS = 'cs.>';
/**
 * Outputs in flight at once: acknowledgements are waited for per part, so a large midnight
 * is not bound by one round trip per thousand.
 */
const CHUNK = 10_000;

/** What publishes into the stream and resolves on its acknowledgement (acked-publisher.ts, or a JetStream client). */
export interface StreamPublisher {
  publish(
    subject: string,
    data: Uint8Array,
    o: { msgID: string; headers: MsgHdrs },
  ): Promise<unknown>;
}
const enc = new TextEncoder();

/** The output stream as the restart tail check reads it (output-reader.ts). */
export interface OutputStreamReader {
  /** The stream's last sequence now. */
  lastSeq(): Promise<number>;
  /** The `Nats-Msg-Id` of every message after `seq`. */
  idsAfter(seq: number): Promise<Set<string>>;
}

/** Where a partition's output tail is kept (the partition state's `tail.<p>`). */
export interface TailKeeper {
  read(): Promise<OutputTail | undefined>;
  write(tail: OutputTail): Promise<void>;
}

export class OutputPublisher {
  /** Outputs seen at the tail's time in this run (published or skipped). */
  private seenAtTail = 0;

  private constructor(
    private readonly js: StreamPublisher,
    private readonly signer: OutputSigner,
    private readonly keeper: TailKeeper,
    private tail: OutputTail,
    private readonly stream?: string,
    private readonly reader?: OutputStreamReader,
    /** Ids the stream held after the last run's unfinished publish. */
    private readonly held?: ReadonlySet<string>,
  ) {}

  static async open(
    js: StreamPublisher,
    signer: OutputSigner,
    keeper: TailKeeper,
    /**
     * The output stream's identity (name and creation time): a tail kept for a stream since
     * deleted and created anew says nothing of the new one, which holds none of its outputs.
     */
    stream?: string,
    /** Reads the stream after a publish the last run did not see through. */
    reader?: OutputStreamReader,
  ): Promise<OutputPublisher> {
    const kept = await keeper.read();
    const current =
      kept && !(stream !== undefined && kept.stream !== undefined && kept.stream !== stream);
    const tail = current ? { at: kept.at, count: kept.count } : { at: -Infinity, count: 0 };
    // The last run died between a publish's intent and its tail: what of it the stream
    // holds is skipped when the replay comes to it, the rest published.
    const held =
      current && kept.pending && reader ? await reader.idsAfter(kept.pending.fromSeq) : undefined;
    return new OutputPublisher(js, signer, keeper, tail, stream, reader, held);
  }

  /** Where this partition's outputs stand. */
  get at(): Readonly<OutputTail> {
    return this.tail;
  }

  /** Publishes what the stream does not hold yet; resolves once JetStream has all of it. */
  async publish(outputs: readonly Output[]): Promise<{ published: number; skipped: number }> {
    let skipped = 0;
    // Moved on only once JetStream holds everything: a failed publish is retried whole.
    let tail = this.tail;
    let seen = this.seenAtTail;
    const send: Output[] = [];
    for (const o of outputs) {
      if (o.at < tail.at) {
        skipped++;
        continue;
      }
      if (o.at > tail.at) {
        tail = { at: o.at, count: 0 };
        seen = 0;
      }
      if (++seen <= tail.count) {
        skipped++;
        continue;
      }
      tail = { at: o.at, count: seen };
      // Published before a crash that came ahead of its tail record (see open()).
      if (this.held?.has(o.id)) skipped++;
      else send.push(o);
    }
    if (send.length > 0 && this.reader) {
      // The intent first: a crash from here until the tail below leaves the stream holding
      // some of these; the next start reads which (after `fromSeq`) instead of guessing.
      const fromSeq = await this.reader.lastSeq();
      await this.keeper.write(this.kept({ ...this.tail, pending: { fromSeq } }));
    }
    for (let i = 0; i < send.length; i += CHUNK) {
      const acks: Promise<unknown>[] = [];
      for (const o of send.slice(i, i + CHUNK)) {
        const h = natsHeaders();
        const body = enc.encode(JSON.stringify(o.body));
        h.set('Pulso-At', String(o.at));
        h.set('Pulso-Kind', o.kind);
        h.set('Content-Type', 'application/json');
        h.set(SIGNATURE_HEADER, this.signer.sign(o.id, String(o.at), o.subject, body));
        acks.push(this.js.publish(o.subject, body, { msgID: o.id, headers: h }));
      }
      await Promise.all(acks);
    }
    if (send.length > 0 || (skipped > 0 && tail !== this.tail))
      await this.keeper.write(this.kept(tail));
    this.tail = tail;
    this.seenAtTail = seen;
    return { published: send.length, skipped };
  }

  private kept(t: OutputTail): OutputTail {
    return this.stream === undefined ? t : { ...t, stream: this.stream };
  }
}
