/**
 * Delivers webhook actions: a durable consumer on `cs.webhook.>` POSTs each call's body to
 * its URL, signed, and acknowledges only on a 2xx answer. Failures are retried with the
 * configured backoff; after `maxDeliveries` attempts the call is dead-lettered on
 * `pulso.dlq.webhook_failed`, and never silently dropped. A message that is not a call Pulso
 * publishes (not JSON, or not its schema) is dead-lettered at once on
 * `pulso.dlq.webhook_invalid` and terminated: nothing a message holds ends the consumer.
 *
 * Signature: `Pulso-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed
 * with the secret in the environment variable the playbook names (`secretEnv`). The
 * receiver recomputes it and may refuse old timestamps; `Pulso-Id` is the deterministic
 * output id, for the receiver to ignore a call it has already processed.
 */
import { createHmac } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { describeErrors, validateOutput } from '../../schemas/index.js';
import type { DeadLetterCaps } from '../contract/dead-letter.js';
import type { Reason } from '../../schemas/types.js';
import { publishDeadLetters } from './nats/dead-letters.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { WebhookBody } from '../../schemas/generated/outputs/webhook.js';

export const WEBHOOK_CONSUMER = 'pulso-webhooks';

export function signature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export async function startWebhooks(
  nc: NatsConnection,
  stream: string,
  c: Config['rules']['webhooks'],
  env: NodeJS.ProcessEnv,
  log: Logger,
  caps?: DeadLetterCaps,
): Promise<{ stop(): Promise<void> }> {
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: WEBHOOK_CONSUMER,
    filter_subject: 'cs.webhook.>',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: (c.timeoutMs + 30_000) * 1_000_000,
    max_deliver: c.maxDeliveries + 1, // the last delivery only dead-letters it
  });
  const js = nc.jetstream();
  const consumer = await js.consumers.get(stream, WEBHOOK_CONSUMER);
  const messages = await consumer.consume({ max_messages: 16 });
  /** Dead-letters the call, then terminates it; if the dead letter cannot be published, it stays. */
  const giveUp = async (m: JsMsg, reason: Reason) => {
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
        'webhook dead letter not published; retrying later',
      );
      m.nak(5000);
    }
  };
  const done = (async () => {
    for await (const m of messages) {
      // Whatever a message holds, the loop goes on: nothing here may end it.
      try {
        await deliver(m, c, env, log, giveUp);
      } catch (e) {
        log.error(
          { seq: m.info.streamSequence, err: (e as Error).message },
          'webhook call failed unexpectedly; dead-lettered',
        );
        await giveUp(m, {
          code: 'internal_error',
          message: `delivering the call failed unexpectedly (a bug in Pulso): ${(e as Error).message}`,
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

/** A call is the webhook output's body, as its schema (and so its generated type) has it. */
type WebhookCall = WebhookBody;

/** The call, or why it cannot be one: bytes that are not JSON, or JSON that is not a call. */
export function parseCall(data: Uint8Array): WebhookCall | Reason {
  let call: unknown;
  try {
    call = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    return {
      code: 'webhook_invalid',
      message: `the webhook call is not JSON: ${(e as Error).message}`,
      expected: 'a cs.webhook message as Pulso publishes it (schemas/outputs/webhook.schema.json)',
    };
  }
  if (!validateOutput.webhook!(call)) {
    const issues = describeErrors(validateOutput.webhook!.errors, call);
    return {
      code: 'webhook_invalid',
      message: `the webhook call is not one Pulso publishes: ${issues
        .slice(0, 3)
        .map((i) => `${i.path || '(call)'}: expected ${i.expected}`)
        .join('; ')}`,
      expected: 'a cs.webhook message as Pulso publishes it (schemas/outputs/webhook.schema.json)',
    };
  }
  return call as WebhookCall;
}

async function deliver(
  m: JsMsg,
  c: Config['rules']['webhooks'],
  env: NodeJS.ProcessEnv,
  log: Logger,
  giveUp: (m: JsMsg, reason: Reason) => Promise<void>,
): Promise<void> {
  const attempt = m.info.deliveryCount;
  const call = parseCall(m.data);
  if ('code' in call) {
    log.warn(
      { seq: m.info.streamSequence, err: call.message },
      'webhook call refused; dead-lettered',
    );
    return giveUp(m, call);
  }
  if (attempt > c.maxDeliveries) {
    log.warn({ id: call.id, url: call.url }, 'webhook given up after every attempt; dead-lettered');
    return giveUp(m, {
      code: 'webhook_failed',
      message: `no 2xx answer from ${call.url} after ${c.maxDeliveries} attempts`,
      expected: 'a 2xx answer',
    });
  }
  const body = m.string();
  const t = Math.floor(Date.now() / 1000);
  const secret = call.secretEnv ? env[call.secretEnv] : undefined;
  try {
    const res = await fetch(call.url, {
      method: 'POST',
      body,
      signal: AbortSignal.timeout(c.timeoutMs),
      headers: {
        'Content-Type': 'application/json',
        'Pulso-Id': call.id,
        'Pulso-Attempt': String(attempt),
        ...(secret ? { 'Pulso-Signature': signature(secret, body, t) } : {}),
      },
    });
    if (res.ok) {
      m.ack();
      return;
    }
    throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    const delay = c.backoffSeconds[Math.min(attempt - 1, c.backoffSeconds.length - 1)]! * 1000;
    log.warn(
      { id: call.id, url: call.url, attempt, err: (e as Error).message, retryInMs: delay },
      'webhook failed',
    );
    m.nak(delay);
  }
}
