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
import { ConfigError, ConfigErrors } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { IngestMetrics } from '../../metrics.js';
import type { DeadLetterCaps } from '../../contract/dead-letter.js';
import type { NotifyBody } from '../../../schemas/generated/outputs/notify.js';
import type { OutputSigner } from '../nats/output-signature.js';
import { policyAgent, refusedUrl } from '../webhook-destination.js';
import { webhookSignature } from '../webhooks.js';
import type { SendMarks } from './email.js';
import { consumeOutputs, type Delivery, type OutputConsumer } from './output-consumer.js';
import { postTo } from './post.js';
import { clientLink } from './templates.js';

export const NOTIFY_CONSUMER = 'pulso-notify';

type Settings = Config['delivery']['notify'];
export type RouteKind = Settings['routes'][number]['kind'];

/** A route as configured, its URL and secrets read from the environment. */
export interface Route {
  index: number;
  csm: string;
  kind: RouteKind;
  url: string;
  secrets: string[];
}

/** The routes, each checked now: one URL (given or from a variable that is set), allowed. */
export function resolveRoutes(config: Config, env: NodeJS.ProcessEnv, source: string): Route[] {
  const errors: ConfigError[] = [];
  const routes: Route[] = [];
  config.delivery.notify.routes.forEach((r, index) => {
    const at = `/delivery/notify/routes/${index}`;
    if ((r.url === undefined) === (r.urlEnv === undefined)) {
      errors.push(new ConfigError(source, at, 'exactly one of url and urlEnv', r));
      return;
    }
    const url = r.url ?? env[r.urlEnv!];
    if (!url) {
      errors.push(
        new ConfigError(
          source,
          `${at}/urlEnv`,
          `the variable ${r.urlEnv} to hold the URL`,
          'not set',
        ),
      );
      return;
    }
    const why = refusedUrl(url, config.rules.webhooks);
    if (why) {
      // The URL itself is not repeated: it may be a secret.
      errors.push(
        new ConfigError(
          source,
          `${at}/${r.url ? 'url' : 'urlEnv'}`,
          `an allowed destination (${why.replace(url, 'the URL')})`,
        ),
      );
      return;
    }
    if (r.secretEnv && r.kind !== 'json') {
      errors.push(
        new ConfigError(source, `${at}/secretEnv`, 'a secret only on a json route', r.secretEnv),
      );
      return;
    }
    const secrets = r.secretEnv ? (env[r.secretEnv] ?? '').split(/\s+/).filter(Boolean) : [];
    if (r.secretEnv && secrets.length === 0) {
      errors.push(
        new ConfigError(
          source,
          `${at}/secretEnv`,
          `the variable ${r.secretEnv} to hold the secret`,
          'not set',
        ),
      );
      return;
    }
    routes.push({ index, csm: r.csm, kind: r.kind, url, secrets });
  });
  if (errors.length > 0) throw new ConfigErrors(errors);
  return routes;
}

/** Slack's mrkdwn: these three are markup, everything else is text. */
const slackText = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

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
        text: `${n.title} — ${n.clientId}: ${n.message}`,
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
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
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
              actions: [{ type: 'Action.OpenUrl', title: 'Client 360', url: link }],
            },
          },
        ],
      };
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
    const body = JSON.stringify(chatBody(r.kind, n, link));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (r.secrets.length > 0) {
      const at = new Date();
      headers['webhook-id'] = n.id;
      headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
      headers['webhook-signature'] = webhookSignature(r.secrets, n.id, at, body);
    }
    const sent = await postTo(r.url, body, headers, agent, {
      ...o.policy,
      timeoutMs: o.settings.timeoutMs,
    });
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
