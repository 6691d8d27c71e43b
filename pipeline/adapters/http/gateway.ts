/**
 * The HTTP gateway (Fastify): Segment-, CustomerX- and Pulso-native tracking APIs in front
 * of JetStream. Stateless — run one or many. It connects to NATS as the `publisher` role, so
 * it can publish events and client updates and nothing else, and it validates with the
 * pipeline's own contract code (`decodeMessage`) before publishing; what it publishes goes
 * through the pipeline exactly as a NATS producer's messages do (same dead letters).
 *
 *   POST /v1/events|clients|users      Pulso's schemas: one item, a JSON array, or NDJSON
 *   POST /v1/track|page|screen|group   Segment calls (and the browser library's short paths
 *   POST /v1/batch                     /v1/t, /v1/p, /v1/s, /v1/g, /v1/b); see segment.ts
 *   POST /api/v1/trackings             CustomerX's tracking API; see customerx.ts
 *   GET  /metrics, /healthz, /readyz
 *
 * Answers a sender can rely on: 200 only once JetStream has stored every accepted item;
 * 400 with a reason per refused item (the valid ones of the batch are stored); 401 for an
 * unknown key; 403 for an origin the key does not allow; 413 past the size limits; 429 with
 * Retry-After past `gateway.ratePerKey`; 503 with Retry-After while NATS cannot store.
 */
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { headers as natsHeaders, type NatsConnection } from 'nats';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Config } from '../../config/types.js';
import { CONTENT_TYPE_NDJSON, decodeMessage } from '../../contract/decode.js';
import { fromCustomerX } from '../../contract/customerx.js';
import { fromSegment, type Mapped, type SegmentMapping } from '../../contract/segment.js';
import { scanJson } from '../../contract/structure.js';
import type { Reason } from '../../../schemas/types.js';
import type { Logger } from '../../log.js';
import { limitsOf } from '../../run.js';
import { connectAs } from '../nats/connect.js';
import type { WriteKey } from './write-keys.js';
import { WriteKeys } from './write-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    writeKey?: WriteKey;
    jsonBody?: unknown;
  }
}

const enc = new TextEncoder();
/** Pulso's own API: path → the subject's route (tracking.<route>.<source>). */
const NATIVE_ROUTES = new Map([
  ['/v1/events', 'events'],
  ['/v1/clients', 'clients'],
  ['/v1/users', 'users'],
]);
const SEGMENT_TYPES: Record<string, string> = {
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  identify: 'identify',
  i: 'identify',
  alias: 'alias',
  a: 'alias',
};

export interface Gateway {
  url: string;
  close(): Promise<void>;
}

/** Why an item was refused, as a sender reads it. */
interface Refusal {
  index: number;
  code: string;
  message: string;
  path?: string;
  expected: string;
}

const refusalOf = (index: number, r: Reason): Refusal => ({
  index,
  code: r.code,
  message: r.message,
  ...(r.path !== undefined ? { path: r.path } : {}),
  expected: r.expected ?? '',
});

export async function startGateway(
  config: Config,
  keysFile: string,
  log: Logger,
  nc?: NatsConnection,
): Promise<Gateway> {
  const g = config.gateway;
  const limits = limitsOf(config);
  const keys = new WriteKeys(keysFile);
  const own = !nc;
  const conn =
    nc ??
    (await connectAs(config, 'publisher', {
      name: 'pulso-gateway',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    }));
  let connected = true;
  void (async () => {
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') connected = false;
      if (s.type === 'reconnect') connected = true;
    }
  })().catch(() => undefined);
  const js = conn.jetstream();

  const registry = new Registry();
  const requests = new Counter({
    name: 'pulso_gateway_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'pulso_gateway_request_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const items = new Counter({
    name: 'pulso_gateway_items_total',
    help: 'Items received, by outcome (accepted, refused)',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const app = Fastify({
    logger: false,
    bodyLimit: Math.max(g.maxBatchBytes, config.nats.trackingStream.maxMessageBytes),
    keepAliveTimeout: 65_000,
  });
  // Every body arrives as bytes: the contract code parses it, with its own guards.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(compress, {
    global: true,
    globalCompression: false,
    requestEncodings: ['gzip', 'deflate'],
    onInvalidRequestPayload: (encoding, _req, error) =>
      Object.assign(new Error(`the body is not valid ${encoding}: ${error.message}`), {
        statusCode: 400,
        code: 'invalid_encoding',
      }),
    onUnsupportedRequestEncoding: (encoding) =>
      Object.assign(new Error(`Content-Encoding ${encoding} is not understood (gzip or deflate)`), {
        statusCode: 415,
        code: 'unsupported_encoding',
      }),
  });
  await app.register(cors, {
    origin: true,
    methods: ['POST', 'GET', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'Content-Encoding', 'credential', 'key'],
    maxAge: 86_400,
  });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: g.ratePerKey,
    timeWindow: 1000,
    keyGenerator: (req) => req.writeKey?.id ?? req.ip,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: 'rate_limited',
      message: `more than ${ctx.max} requests per second with this key; retry after ${ctx.after}`,
    }),
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    const status = String(reply.statusCode);
    requests.inc({ route, status });
    latency.observe({ route, status }, reply.elapsedTime / 1000);
    // No payloads and no keys: the path without its query, the source, the outcome.
    log.info(
      {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        source: req.writeKey?.source,
      },
      'gateway request',
    );
  });

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      const status = err.statusCode ?? 500;
      if (status === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        return reply.code(413).send({ error: 'too_large', message: err.message });
      if (status >= 500) log.error({ err: err.message }, 'gateway request failed');
      return reply.code(status).send({ error: err.code ?? 'error', message: err.message });
    },
  );

  /** The key of a request: Basic user name, Bearer token, CustomerX's `key`, or writeKey. */
  const keyOf = (req: FastifyRequest, body: unknown): string | undefined => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const plain = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      return plain.split(':')[0];
    }
    if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
    const header = req.headers.key;
    if (typeof header === 'string') return header;
    if (body && typeof body === 'object' && 'writeKey' in body)
      return String((body as { writeKey: unknown }).writeKey);
    return undefined;
  };

  /** JSON of a body, within the contract's depth bound; a reason otherwise. */
  const jsonOf = (data: Buffer): { json: unknown } | { reason: Reason } => {
    if (scanJson(data, limits.maxDepth, 0).depth > limits.maxDepth)
      return {
        reason: {
          code: 'too_deep',
          message: `nesting deeper than ${limits.maxDepth}`,
          expected: `at most ${limits.maxDepth} levels`,
        },
      };
    try {
      return { json: JSON.parse(data.toString('utf8')) };
    } catch (e) {
      return {
        reason: {
          code: 'invalid_json',
          message: `the body is not JSON: ${(e as Error).message}`,
          expected: 'a JSON body',
        },
      };
    }
  };

  const fail = (reply: FastifyReply, status: number, error: string, message: string) =>
    reply.code(status).send({ error, message });

  // Authentication, before the rate limit (which counts per key).
  app.addHook('preValidation', async (req, reply) => {
    const path = req.routeOptions.url ?? '';
    if (!path.startsWith('/v1/') && !path.startsWith('/api/')) return;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // Pulso's own API leaves its body to the contract code (published and dead-lettered as
    // any producer's); the other APIs are JSON the gateway maps, and may carry the key.
    const parsed = NATIVE_ROUTES.has(path) || body.length === 0 ? undefined : jsonOf(body);
    if (parsed && 'json' in parsed) req.jsonBody = parsed.json;
    const key = keyOf(req, req.jsonBody);
    const entry = key ? keys.lookup(key) : undefined;
    if (!entry) return fail(reply, 401, 'unauthorized', 'unknown or missing write key');
    const origin = req.headers.origin;
    if (entry.origins.length > 0 && (!origin || !entry.origins.includes(origin)))
      return fail(
        reply,
        403,
        'forbidden_origin',
        `this key is not allowed from ${origin ?? 'no origin'}`,
      );
    req.writeKey = entry;
    if (parsed && 'reason' in parsed)
      return reply
        .code(400)
        .send({ error: 'invalid', accepted: 0, rejected: [refusalOf(0, parsed.reason)] });
  });

  /** What publishing did: the message's items, those refused — or why nothing was stored. */
  type Published = { items: number; refused: Refusal[] } | { unavailable: string };

  /**
   * Checks one message with the contract code and publishes it (invalid items too: the
   * pipeline dead-letters them as it does any producer's), resolving once JetStream has
   * stored it. `indexOf` maps a position in the message to the sender's own item.
   */
  const publish = async (
    subject: string,
    data: Uint8Array,
    ndjson: boolean,
    indexOf: (i: number) => number,
  ): Promise<Published> => {
    if (!connected) return { unavailable: 'NATS is unreachable; nothing was stored, retry later' };
    const decoded = decodeMessage(
      {
        subject,
        data,
        streamSeq: 0,
        storedAt: Date.now(),
        ...(ndjson ? { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } } : {}),
      },
      limits,
    );
    const h = natsHeaders();
    if (ndjson) h.set('Content-Type', CONTENT_TYPE_NDJSON);
    try {
      await js.publish(subject, data, { headers: h, timeout: g.publishTimeoutMs });
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'gateway: JetStream did not store a message');
      return { unavailable: 'JetStream did not store the message; nothing is lost if you retry' };
    }
    const d = decoded;
    return {
      items: d.events.length + d.clientUpdates.length + d.userUpdates.length + d.deadLetters.length,
      refused: d.deadLetters.map((x) => refusalOf(indexOf(x.index ?? 0), x.reason)),
    };
  };

  /** The answer to a request of `count` items, once what it carried is published. */
  const answer = (
    reply: FastifyReply,
    results: Published[],
    earlier: Refusal[],
    count: number,
    ok: { status: number; body: Record<string, unknown> },
  ) => {
    const down = results.find((r): r is { unavailable: string } => 'unavailable' in r);
    if (down) {
      void reply.header('Retry-After', '5');
      return fail(reply, 503, 'unavailable', down.unavailable);
    }
    const byIndex = new Map<number, Refusal>();
    for (const r of earlier) byIndex.set(r.index, r);
    for (const r of results.flatMap((x) => ('refused' in x ? x.refused : [])))
      if (!byIndex.has(r.index)) byIndex.set(r.index, r);
    const rejected = [...byIndex.values()].sort((a, b) => a.index - b.index);
    const accepted = Math.max(0, count - rejected.length);
    items.inc({ outcome: 'accepted' }, accepted);
    items.inc({ outcome: 'refused' }, rejected.length);
    if (rejected.length > 0) return reply.code(400).send({ error: 'invalid', accepted, rejected });
    return reply.code(ok.status).send(ok.body);
  };

  // ---- Pulso's own API -------------------------------------------------------------------
  for (const [path, route] of NATIVE_ROUTES)
    app.post(path, async (req, reply) => {
      const ndjson = (req.headers['content-type'] ?? '').includes('ndjson');
      const r = await publish(
        `tracking.${route}.${req.writeKey!.source}`,
        req.body as Buffer,
        ndjson,
        (i) => i,
      );
      const count = 'items' in r ? r.items : 0;
      return answer(reply, [r], [], count, { status: 200, body: { accepted: count } });
    });

  // ---- Segment ---------------------------------------------------------------------------
  const segment = async (
    req: FastifyRequest,
    reply: FastifyReply,
    calls: { type: string; call: unknown }[],
  ) => {
    const receivedAt = Date.now();
    const events: { at: number; item: unknown }[] = [];
    const updates: { at: number; item: unknown }[] = [];
    const users: { at: number; item: unknown }[] = [];
    const earlier: Refusal[] = [];
    calls.forEach(({ type, call }, at) => {
      const m: Mapped = fromSegment(type, call, g.segment as SegmentMapping, receivedAt);
      if ('reason' in m) {
        earlier.push(refusalOf(at, m.reason));
        return;
      }
      if (m.update) updates.push({ at, item: m.update });
      if (m.user) users.push({ at, item: m.user });
      if (m.event) events.push({ at, item: m.event });
    });
    const source = req.writeKey!.source;
    const results: Published[] = [];
    // Client and user updates first: a batch's group calls name the clients (and the
    // users' clients) its events then use.
    for (const [route, list] of [
      ['clients', updates],
      ['users', users],
      ['events', events],
    ] as const)
      if (list.length > 0 && !results.some((r) => 'unavailable' in r))
        results.push(
          await publish(
            `tracking.${route}.${source}`,
            enc.encode(JSON.stringify(list.map((u) => u.item))),
            false,
            (i) => list[i]!.at,
          ),
        );
    return answer(reply, results, earlier, calls.length, { status: 200, body: { success: true } });
  };

  for (const [short, type] of Object.entries(SEGMENT_TYPES))
    app.post(`/v1/${short}`, { bodyLimit: g.maxCallBytes }, async (req, reply) =>
      segment(req, reply, [{ type, call: req.jsonBody }]),
    );
  for (const path of ['/v1/batch', '/v1/b', '/v1/import'])
    app.post(path, { bodyLimit: g.maxBatchBytes }, async (req, reply) => {
      const body = req.jsonBody as { batch?: unknown } | undefined;
      if (!body || !Array.isArray(body.batch))
        return answer(
          reply,
          [],
          [
            {
              index: 0,
              code: 'schema_violation',
              message: 'a batch needs its "batch" list',
              path: '/batch',
              expected: 'an array of calls',
            },
          ],
          1,
          { status: 200, body: {} },
        );
      const calls = body.batch.map((call: unknown) => ({
        type: String((call as { type?: unknown } | null)?.type ?? ''),
        call,
      }));
      return segment(req, reply, calls);
    });

  // ---- CustomerX -------------------------------------------------------------------------
  app.post('/api/v1/trackings', { bodyLimit: g.maxCallBytes }, async (req, reply) => {
    const m = fromCustomerX(req.jsonBody, config.windows.timeZone, Date.now());
    if ('reason' in m)
      return answer(reply, [], [refusalOf(0, m.reason)], 1, { status: 201, body: {} });
    const r = await publish(
      `tracking.events.${req.writeKey!.source}`,
      enc.encode(JSON.stringify(m.event)),
      false,
      (i) => i,
    );
    return answer(reply, [r], [], 1, { status: 201, body: { success: true, tracking: m.event } });
  });

  // Alive while the process answers; ready (worth sending to) only while NATS is connected.
  app.get('/healthz', async () => ({ status: connected ? 'alive' : 'nats unreachable' }));
  app.get('/readyz', async (_req, reply) =>
    connected
      ? { status: 'ready' }
      : reply.code(503).header('Retry-After', '5').send({ status: 'nats unreachable' }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.header('Content-Type', registry.contentType).send(await registry.metrics()),
  );

  await app.listen({ host: g.host, port: g.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : g.port;
  log.info({ url: `http://${g.host}:${port}`, keys: keys.size }, 'gateway listening');
  return {
    url: `http://${g.host}:${port}`,
    async close() {
      await app.close();
      if (own) await conn.drain();
    },
  };
}
