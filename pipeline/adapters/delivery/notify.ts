/**
 * Delivers CSM notifications (`cs.notify.>`) to chat tools: each goes to every route of
 * `delivery.notify.routes` whose `csm` is the client's CSM (or `*`) — a Slack incoming
 * webhook, a Microsoft Teams workflow webhook (an Adaptive Card), or any receiver as JSON
 * (signed as Standard Webhooks when the route has a secret).
 *
 * The destinations are the configuration's only (never the message's), reached under the
 * webhooks' destination policy (https to public addresses unless `rules.webhooks` allows
 * more; redirects refused). A notification reaching several routes is retried for those
 * that failed only: each route's success is kept in KV (email.ts's SendMarks).
 */
import type { NatsConnection } from 'nats';
import type { Dispatcher } from 'undici';
import type { Config } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { IngestMetrics } from '../../metrics.js';
import type { DeadLetterCaps } from '../../contract/dead-letter.js';
import type { NotifyBody } from '../../../schemas/generated/outputs/notify.js';
import type { OutputSigner } from '../nats/output-signature.js';
import { policyAgent } from '../webhook-destination.js';
import type { SendMarks } from './email.js';
import { consumeOutputs, type Delivery, type OutputConsumer } from './output-consumer.js';
import { postToRoute, slackText, teamsCard, type Route, type RouteKind } from './routes.js';
import { clientLink } from './templates.js';

export const NOTIFY_CONSUMER = 'pulso-notify';

type Settings = Config['delivery']['notify'];

/** A summary line: the condition and what was observed. */
function summaryLines(n: NotifyBody): string[] {
  return (n.summary as { description?: string; observed?: Record<string, unknown> }[]).map(
    (c) =>
      `${c.description ?? ''}${
        c.observed
          ? ` (${Object.entries(c.observed)
              .map(([k, v]) => `${k}: ${String(v)}`)
              .join(', ')})`
          : ''
      }`,
  );
}

/** The request body a route's kind expects. */
export function chatBody(kind: RouteKind, n: NotifyBody, link: string): unknown {
  const lines = summaryLines(n);
  switch (kind) {
    case 'slack':
      return {
        // Escaped here too: a client id like `<!channel>` must not ping a whole channel.
        text: slackText(`${n.title} — ${n.clientId}: ${n.message}`),
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: [
                `*${slackText(n.clientId)}* — ${slackText(n.message)}`,
                ...lines.map((l) => `• ${slackText(l)}`),
              ].join('\n'),
            },
          },
          {
            type: 'context',
            elements: [
              {
                type: 'mrkdwn',
                text: `<${link}|Client 360> · ${slackText(n.playbook)} · ${slackText(n.period)}`,
              },
            ],
          },
        ],
      };
    case 'teams':
      return teamsCard(
        [
          { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: n.title, wrap: true },
          { type: 'TextBlock', text: n.message, wrap: true },
          {
            type: 'FactSet',
            facts: [
              { title: 'Client', value: n.clientId },
              { title: 'Period', value: n.period },
              ...lines.map((l, i) => ({ title: `Condition ${i + 1}`, value: l })),
            ],
          },
        ],
        { title: 'Client 360', url: link },
      );
    case 'json':
      return { type: 'notify', notification: n, link };
  }
}

export interface NotifierOptions {
  settings: Settings;
  routes: Route[];
  policy: Config['rules']['webhooks'];
  link: string;
  marks: SendMarks;
  signer: OutputSigner;
  log: Logger;
  caps?: DeadLetterCaps;
  metrics?: IngestMetrics;
}

export async function startNotifier(
  nc: NatsConnection,
  stream: string,
  o: NotifierOptions,
): Promise<OutputConsumer> {
  const c = o.settings;
  const agent = policyAgent(o.policy, c.timeoutMs);
  const consumer = await consumeOutputs(
    nc,
    stream,
    {
      kind: 'notify',
      durable: NOTIFY_CONSUMER,
      ackWaitMs: Math.max(5_000, c.timeoutMs + 2_000),
      maxDeliveries: c.maxDeliveries,
      backoffSeconds: c.backoffSeconds,
      invalidCode: 'notify_invalid',
      failedCode: 'notify_failed',
      signer: o.signer,
      caps: o.caps,
      log: o.log,
      counted: (outcome) => o.metrics?.notifications.inc({ outcome }),
    },
    (n) => notify(n, o, agent),
  );
  return {
    async stop() {
      await consumer.stop();
      await agent.close();
    },
  };
}

async function notify(n: NotifyBody, o: NotifierOptions, agent: Dispatcher): Promise<Delivery> {
  const targets = o.routes.filter((r) => r.csm === '*' || r.csm === n.csm);
  const link = clientLink(o.link, n.clientId);
  const failures: string[] = [];
  for (const r of targets) {
    const mark = `notify-${r.index}`;
    if ((await o.marks.get(mark, n.id))?.state === 'sent') continue;
    const sent = await postToRoute(
      r,
      n.id,
      chatBody(r.kind, n, link),
      agent,
      o.policy,
      o.settings.timeoutMs,
    );
    if (sent.outcome === 'delivered') {
      await o.marks.sent(mark, n.id, `${r.kind}:${sent.status}`);
      o.log.info({ id: n.id, route: r.index, kind: r.kind }, 'notification delivered');
    } else if (sent.outcome === 'refused')
      return {
        outcome: 'give-up',
        reason: {
          code: 'notify_refused',
          message: `route ${r.index} (${r.kind}): ${sent.why.replace(r.url, 'its URL')}`,
          expected: 'a destination the policy allows (rules.webhooks)',
        },
      };
    else failures.push(`route ${r.index} (${r.kind}): ${sent.why}`);
  }
  return failures.length === 0
    ? { outcome: 'delivered' }
    : { outcome: 'retry', err: failures.join('; ') };
}
