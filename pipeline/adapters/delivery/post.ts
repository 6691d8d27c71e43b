/**
 * One POST to a destination under the destination policy (webhook-destination.ts): the URL
 * is judged first, the addresses DNS gives when connecting, a redirect is a refusal (never
 * followed), and what the receiver answers is read up to a cap. The outcome says whether
 * trying again could help: `refused` never, `failed` maybe.
 */
import { request, type Dispatcher } from 'undici';
import { DestinationRefused, refusedUrl, type DestinationPolicy } from '../webhook-destination.js';

export type PostOutcome =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'refused'; why: string }
  | { outcome: 'failed'; why: string };

export interface PostSettings extends DestinationPolicy {
  timeoutMs: number;
  maxResponseBytes: number;
}

export async function postTo(
  url: string,
  body: string,
  headers: Record<string, string>,
  agent: Dispatcher,
  s: PostSettings,
): Promise<PostOutcome> {
  const why = refusedUrl(url, s);
  if (why) return { outcome: 'refused', why: `${url}: ${why}` };
  try {
    const res = await request(url, {
      method: 'POST',
      body,
      headers,
      dispatcher: agent,
      signal: AbortSignal.timeout(s.timeoutMs),
    });
    const answer = await answerOf(res.body, s.maxResponseBytes);
    if (res.statusCode >= 200 && res.statusCode < 300)
      return { outcome: 'delivered', status: res.statusCode };
    if (res.statusCode >= 300 && res.statusCode < 400)
      return {
        outcome: 'refused',
        why: `${url} answered ${res.statusCode}, a redirect to ${String(res.headers.location ?? '(no location)')}: redirects are not followed`,
      };
    return {
      outcome: 'failed',
      why: `HTTP ${res.statusCode}${answer ? `: ${answer.slice(0, 200)}` : ''}`,
    };
  } catch (e) {
    const cause = causeChain(e).find((x) => x instanceof DestinationRefused);
    if (cause) return { outcome: 'refused', why: `${url}: ${cause.message}` };
    return { outcome: 'failed', why: (e as Error).message };
  }
}

/** What the receiver said, read up to the cap (for the log); the rest is discarded. */
async function answerOf(body: Dispatcher.ResponseData['body'], cap: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < cap) parts.push(chunk.subarray(0, cap - size));
    size += chunk.length;
    if (size >= cap) break;
  }
  body.destroy();
  return Buffer.concat(parts).toString('utf8');
}

function causeChain(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let x = e; x && out.length < 8; x = (x as { cause?: unknown }).cause) out.push(x);
  return out;
}
