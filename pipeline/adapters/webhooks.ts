/**
 * Delivers webhook actions: a durable consumer on `cs.webhook.>` POSTs each call to its
 * destination, signed, and acknowledges only on a 2xx answer. Failures are retried with the
 * configured backoff; after `maxDeliveries` attempts the call is dead-lettered on
 * `pulso.dlq.webhook_failed`, never silently dropped.
 *
 * Nothing a message holds chooses where Pulso sends a request or what it signs with:
 *   - a message not signed by this pipeline (output-signature.ts) is dead-lettered at once
 *     on `pulso.dlq.output_forged`, and counted;
 *   - the URL and the secret come from the loaded playbook — the action the call's id names
 *     (`webhook/<playbook>/<client>/<period>/<action>`) — never from the message;
 *   - the destination policy (webhook-destination.ts) refuses non-public addresses and plain
 *     http unless allowed, on the addresses DNS gives; redirects are refused, not followed:
 *     `pulso.dlq.webhook_refused`, with the reason;
 *   - a message that is not a call Pulso publishes is dead-lettered on `webhook_invalid`.
 *
 * Signature: Standard Webhooks — `webhook-id` (the output id: a receiver ignores a call it
 * has processed), `webhook-timestamp` (unix seconds), `webhook-signature` (`v1,<base64
 * HMAC-SHA256 of "id.timestamp.body">`, one per secret). The playbook's `secretEnv` names the
 * variable holding the secret, `whsec_<base64>`; two secrets separated by a space while a
 * receiver rotates (each is signed, the receiver accepts either).
 */
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';
import { describeErrors, validateOutput } from '../../schemas/index.js';
import type { Playbook } from '../../operators/playbooks/playbook.js';
import type { DeadLetterCaps } from '../contract/dead-letter.js';
import type { Reason } from '../../schemas/types.js';
import type { OutputSigner } from './nats/output-signature.js';
import { policyAgent, refusedUrl } from './webhook-destination.js';
import { postTo } from './delivery/post.js';
import { giveUpOn } from './delivery/output-consumer.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from '../metrics.js';
import type { WebhookBody } from '../../schemas/generated/outputs/webhook.js';

export const WEBHOOK_CONSUMER = 'pulso-webhooks';

/** The Standard Webhooks signature header: one `v1,…` per secret, space-separated. */
export function webhookSignature(secrets: string[], id: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
}

export interface WebhookOptions {
  settings: Config['rules']['webhooks'];
  /** The loaded playbooks: where each call goes and what signs it. */
  playbooks: readonly Playbook[];
  signer: OutputSigner;
  env: NodeJS.ProcessEnv;
  log: Logger;
  caps?: DeadLetterCaps;
  metrics?: IngestMetrics;
}

export async function startWebhooks(
  nc: NatsConnection,
  stream: string,
  o: WebhookOptions,
): Promise<{ stop(): Promise<void> }> {
  const { settings: c, log, caps } = o;
  const agent = policyAgent(c, c.timeoutMs);
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
  const giveUp = giveUpOn(js, stream, caps, log, 'webhook');
  const done = (async () => {
    for await (const m of messages) {
      // Whatever a message holds, the loop goes on: nothing here may end it.
      try {
        await deliver(m, o, agent, giveUp);
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
      await agent.close();
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

/** The playbook's webhook action the call's id names, or why there is none. */
function actionOf(
  call: WebhookCall,
  playbooks: readonly Playbook[],
): { url: string; secretEnv?: string } | Reason {
  const index = Number(call.id.slice(call.id.lastIndexOf('/') + 1));
  const action = playbooks.find((p) => p.id === call.playbook)?.actions[index];
  if (action && 'webhook' in action && call.id.startsWith(`webhook/${call.playbook}/`))
    return action.webhook;
  return {
    code: 'webhook_invalid',
    message: `no webhook action ${index} in playbook ${JSON.stringify(call.playbook)} as loaded`,
    expected: 'a call of a webhook action of a loaded playbook',
  };
}

const refused = (message: string): Reason => ({
  code: 'webhook_refused',
  message,
  expected: 'an https destination on a public address, or one rules.webhooks allows',
});

async function deliver(
  m: JsMsg,
  o: WebhookOptions,
  agent: Dispatcher,
  giveUp: (m: JsMsg, reason: Reason) => Promise<void>,
): Promise<void> {
  const { settings: c, log } = o;
  const attempt = m.info.deliveryCount;
  if (!o.signer.verifies(m.subject, m.headers, m.data)) {
    o.metrics?.forgedOutputs.inc();
    log.warn({ seq: m.info.streamSequence }, 'webhook call not signed by Pulso; dead-lettered');
    return giveUp(m, {
      code: 'output_forged',
      message: 'the message is not signed by this pipeline (Pulso-Output-Signature)',
      expected: 'an output the pipeline published',
    });
  }
  const call = parseCall(m.data);
  if ('code' in call) {
    log.warn(
      { seq: m.info.streamSequence, err: call.message },
      'webhook call refused; dead-lettered',
    );
    return giveUp(m, call);
  }
  const action = actionOf(call, o.playbooks);
  if ('code' in action) {
    log.warn({ id: call.id, err: action.message }, 'webhook call refused; dead-lettered');
    return giveUp(m, action);
  }
  const url = action.url;
  const why = refusedUrl(url, c);
  if (why) {
    o.metrics?.webhooks.inc({ outcome: 'refused' });
    log.warn({ id: call.id, url, err: why }, 'webhook destination refused; dead-lettered');
    return giveUp(m, refused(`${url}: ${why}`));
  }
  if (attempt > c.maxDeliveries) {
    o.metrics?.webhooks.inc({ outcome: 'failed' });
    log.warn({ id: call.id, url }, 'webhook given up after every attempt; dead-lettered');
    return giveUp(m, {
      code: 'webhook_failed',
      message: `no 2xx answer from ${url} after ${c.maxDeliveries} attempts`,
      expected: 'a 2xx answer',
    });
  }
  const secrets = action.secretEnv
    ? (o.env[action.secretEnv] ?? '').split(/\s+/).filter(Boolean)
    : [];
  if (action.secretEnv && secrets.length === 0) {
    log.error({ id: call.id, secretEnv: action.secretEnv }, 'webhook secret variable not set');
    return giveUp(
      m,
      refused(
        `the signing secret's variable ${action.secretEnv} is not set: nothing is sent unsigned`,
      ),
    );
  }
  const body = m.string();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': call.id,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'pulso-attempt': String(attempt),
  };
  try {
    if (secrets.length > 0)
      headers['webhook-signature'] = webhookSignature(
        secrets,
        call.id,
        new Date(Number(headers['webhook-timestamp']) * 1000),
        body,
      );
  } catch (e) {
    return giveUp(
      m,
      refused(
        `the secret in ${action.secretEnv} is not a Standard Webhooks secret (whsec_<base64>): ${(e as Error).message}`,
      ),
    );
  }
  const sent = await postTo(url, body, headers, agent, c);
  if (sent.outcome === 'delivered') {
    o.metrics?.webhooks.inc({ outcome: 'delivered' });
    m.ack();
    return;
  }
  if (sent.outcome === 'refused') {
    o.metrics?.webhooks.inc({ outcome: 'refused' });
    log.warn({ id: call.id, url, err: sent.why }, 'webhook destination refused; dead-lettered');
    return giveUp(m, refused(sent.why));
  }
  o.metrics?.webhooks.inc({ outcome: 'retried' });
  const delay = c.backoffSeconds[Math.min(attempt - 1, c.backoffSeconds.length - 1)]! * 1000;
  log.warn({ id: call.id, url, attempt, err: sent.why, retryInMs: delay }, 'webhook failed');
  m.nak(delay);
}
