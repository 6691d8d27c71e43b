/**
 * One kind of output delivered to the world (e-mails, chat notifications): a durable
 * consumer on its subjects hands each message, checked, to `deliver`, and acts on the
 * outcome — acknowledge it, try it again after the backoff, or dead-letter it.
 *
 * Checked before `deliver` sees anything:
 *   - signed by this pipeline (output-signature.ts), or dead-lettered as `output_forged`;
 *   - JSON valid against the kind's output schema, or dead-lettered with `invalidCode`;
 *   - within `maxDeliveries` attempts, or dead-lettered with `failedCode`.
 * Whatever a message holds, the loop goes on: an error `deliver` throws is a bug in Pulso,
 * and its message is dead-lettered as `internal_error`. A dead letter that cannot be
 * published leaves its message to be delivered again later: nothing is dropped silently.
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { describeErrors, validateOutput } from '../../../schemas/index.js';
import type { OutputBodies } from '../../../operators/playbooks/outputs.js';
import type { Reason, ReasonCode } from '../../../schemas/types.js';
import type { DeadLetterCaps } from '../../contract/dead-letter.js';
import type { Logger } from '../../log.js';
import { publishDeadLetters } from '../nats/dead-letters.js';
import type { OutputSigner } from '../nats/output-signature.js';

/** What became of one message. */
export type Delivery =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; err: string }
  | { outcome: 'give-up'; reason: Reason };

export interface OutputConsumerOptions<K extends keyof OutputBodies> {
  kind: K;
  /** The durable consumer's name: one position per deployment, shared by instances. */
  durable: string;
  /**
   * How long a message handed out may go unacknowledged before JetStream hands it out again
   * (a delivery under way extends it): after a crash, the wait before it is tried again.
   */
  ackWaitMs: number;
  maxDeliveries: number;
  backoffSeconds: number[];
  invalidCode: ReasonCode;
  failedCode: ReasonCode;
  signer: OutputSigner;
  caps?: DeadLetterCaps;
  log: Logger;
  /** Every outcome, for metrics. */
  counted?: (outcome: 'delivered' | 'retried' | 'dead-lettered' | 'forged') => void;
}

export interface OutputConsumer {
  stop(): Promise<void>;
}

export async function consumeOutputs<K extends keyof OutputBodies>(
  nc: NatsConnection,
  stream: string,
  o: OutputConsumerOptions<K>,
  deliver: (body: OutputBodies[K], attempt: number) => Promise<Delivery>,
): Promise<OutputConsumer> {
  const { log } = o;
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: o.durable,
    filter_subject: `cs.${o.kind}.>`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: o.ackWaitMs * 1_000_000,
    max_deliver: o.maxDeliveries + 1, // the last delivery only dead-letters it
  });
  const js = nc.jetstream();
  // One at a time, and a delivery under way keeps its message (working()): a message waiting
  // in a buffer, or a slow send, must not be handed to another instance meanwhile.
  const messages = await (await js.consumers.get(stream, o.durable)).consume({ max_messages: 1 });

  const deadLetter = giveUpOn(js, stream, o.caps, log, o.kind);
  const giveUp = (m: JsMsg, reason: Reason) => {
    o.counted?.('dead-lettered');
    return deadLetter(m, reason);
  };

  const handle = async (m: JsMsg) => {
    const attempt = m.info.deliveryCount;
    if (!o.signer.verifies(m.subject, m.headers, m.data)) {
      o.counted?.('forged');
      log.warn(
        { seq: m.info.streamSequence },
        `${o.kind} output not signed by Pulso; dead-lettered`,
      );
      return giveUp(m, {
        code: 'output_forged',
        message: 'the message is not signed by this pipeline (Pulso-Output-Signature)',
        expected: 'an output the pipeline published',
      });
    }
    const body = parseOutput(o.kind, o.invalidCode, m.data);
    if ('code' in body) {
      log.warn(
        { seq: m.info.streamSequence, err: body.message },
        `${o.kind} refused; dead-lettered`,
      );
      return giveUp(m, body);
    }
    if (attempt > o.maxDeliveries)
      return giveUp(m, {
        code: o.failedCode,
        message: `not delivered after ${o.maxDeliveries} attempts`,
        expected: 'a destination that accepts it',
      });
    const working = setInterval(() => m.working(), Math.max(1000, o.ackWaitMs / 3));
    const d = await deliver(body as OutputBodies[K], attempt).finally(() => clearInterval(working));
    if (d.outcome === 'delivered') {
      o.counted?.('delivered');
      m.ack();
    } else if (d.outcome === 'give-up') {
      log.warn({ seq: m.info.streamSequence, err: d.reason.message }, `${o.kind} dead-lettered`);
      await giveUp(m, d.reason);
    } else {
      o.counted?.('retried');
      const delay = o.backoffSeconds[Math.min(attempt - 1, o.backoffSeconds.length - 1)]! * 1000;
      log.warn(
        { seq: m.info.streamSequence, attempt, err: d.err, retryInMs: delay },
        `${o.kind} not delivered; trying again later`,
      );
      m.nak(delay);
    }
  };

  const done = (async () => {
    for await (const m of messages) {
      try {
        await handle(m);
      } catch (e) {
        log.error(
          { seq: m.info.streamSequence, err: (e as Error).message },
          `${o.kind} delivery failed unexpectedly; dead-lettered`,
        );
        await giveUp(m, {
          code: 'internal_error',
          message: `delivering failed unexpectedly (a bug in Pulso): ${(e as Error).message}`,
        });
      }
    }
  })();
  return {
    async stop() {
      await messages.close();
      await done.catch(() => undefined);
    },
  };
}

/** The output, or why it is not one Pulso publishes: bytes that are not JSON, or not its schema. */
export function parseOutput<K extends keyof OutputBodies>(
  kind: K,
  code: ReasonCode,
  data: Uint8Array,
): OutputBodies[K] | Reason {
  const expected = `a cs.${kind} message as Pulso publishes it (schemas/outputs/${kind}.schema.json)`;
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    return { code, message: `the ${kind} output is not JSON: ${(e as Error).message}`, expected };
  }
  const validate = validateOutput[kind]!;
  if (!validate(body)) {
    const issues = describeErrors(validate.errors, body);
    return {
      code,
      message: `the ${kind} output is not one Pulso publishes: ${issues
        .slice(0, 3)
        .map((i) => `${i.path || '(output)'}: expected ${i.expected}`)
        .join('; ')}`,
      expected,
    };
  }
  return body as OutputBodies[K];
}

/**
 * Dead-letters a message of `stream`, then terminates it; if the dead letter cannot be
 * published, the message stays and comes again later.
 */
export function giveUpOn(
  js: JetStreamClient,
  stream: string,
  caps: DeadLetterCaps | undefined,
  log: Logger,
  what: string,
): (m: JsMsg, reason: Reason) => Promise<void> {
  return async (m, reason) => {
    try {
      await publishDeadLetters(
        js,
        [
          {
            reason,
            subject: m.subject,
            stream,
            streamSeq: m.info.streamSequence,
            storedAt: Math.floor(m.info.timestampNanos / 1e6),
            payload: m.data,
          },
        ],
        caps,
      );
      m.term();
    } catch (e) {
      log.warn(
        { seq: m.info.streamSequence, err: (e as Error).message },
        `${what} dead letter not published; retrying later`,
      );
      m.nak(5000);
    }
  };
}
