/**
 * Delivers webhook actions: a durable consumer on `cs.webhook.>` POSTs each call's body to
 * its URL, signed, and acknowledges only on a 2xx answer. Failures are retried with the
 * configured backoff; after `maxDeliveries` attempts the call is dead-lettered on
 * `pulso.dlq.webhook` with the last error, and never silently dropped.
 *
 * Signature: `Pulso-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed
 * with the secret in the environment variable the playbook names (`secretEnv`). The
 * receiver recomputes it and may refuse old timestamps; `Pulso-Id` is the deterministic
 * output id, for the receiver to ignore a call it has already processed.
 */
import { createHmac } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { DEAD_LETTER_SUBJECT_ROOT } from '../contract/dead-letter.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';

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
  const consumer = await nc.jetstream().consumers.get(stream, WEBHOOK_CONSUMER);
  const messages = await consumer.consume({ max_messages: 16 });
  const done = (async () => {
    for await (const m of messages) await deliver(m, nc, c, env, log);
  })();
  return {
    async stop() {
      await messages.close();
      await done.catch(() => undefined);
    },
  };
}

async function deliver(
  m: JsMsg,
  nc: NatsConnection,
  c: Config['rules']['webhooks'],
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<void> {
  const attempt = m.info.deliveryCount;
  const body = m.string();
  const call = JSON.parse(body) as { id: string; url: string; secretEnv: string | null };
  if (attempt > c.maxDeliveries) {
    nc.publish(
      `${DEAD_LETTER_SUBJECT_ROOT}.webhook`,
      JSON.stringify({
        reason: {
          code: 'webhook_failed',
          message: `no 2xx answer after ${c.maxDeliveries} attempts`,
        },
        url: call.url,
        call,
      }),
    );
    m.term();
    log.warn({ id: call.id, url: call.url }, 'webhook given up after every attempt; dead-lettered');
    return;
  }
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
