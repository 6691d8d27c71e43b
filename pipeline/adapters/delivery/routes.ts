/**
 * The CSMs' routes (`delivery.notify.routes`): where their notifications and digests go, each
 * checked at start, and one POST to a route in its tool's terms — a JSON route signed as
 * Standard Webhooks when it has a secret.
 */
import type { Dispatcher } from 'undici';
import type { Config } from '../../config/types.js';
import { ConfigError, ConfigErrors } from '../../errors.js';
import { refusedUrl } from '../webhook-destination.js';
import { webhookSignature } from '../webhooks.js';
import { postTo, type PostOutcome } from './post.js';

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
export const slackText = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One payload to one route: signed when the route has secrets, under the policy. */
export function postToRoute(
  r: Route,
  id: string,
  payload: unknown,
  agent: Dispatcher,
  policy: Config['rules']['webhooks'],
  timeoutMs: number,
): Promise<PostOutcome> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (r.secrets.length > 0) {
    const at = new Date();
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
    headers['webhook-signature'] = webhookSignature(r.secrets, id, at, body);
  }
  return postTo(r.url, body, headers, agent, { ...policy, timeoutMs });
}

/** A Microsoft Teams workflow webhook's message: one Adaptive Card with one link. */
export function teamsCard(body: unknown[], action: { title: string; url: string }): unknown {
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
          body,
          actions: [{ type: 'Action.OpenUrl', title: action.title, url: action.url }],
        },
      },
    ],
  };
}
