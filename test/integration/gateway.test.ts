/**
 * The HTTP gateway with real clients: Segment's own Node SDK (`@segment/analytics-node`)
 * pointed at it, CustomerX's documented body, Pulso's native API — through the gateway,
 * JetStream and the real pipeline into QuestDB. Then every status a sender relies on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import autocannon from 'autocannon';
import { startNats, stopNats } from '../../deploy/services/nats.js';
import { natsOptions } from '../support/global-services.js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../../pipeline/adapters/http/gateway.js';
import { createKey, revokeKey } from '../../pipeline/adapters/http/write-keys.js';
import { createLogger } from '../../pipeline/log.js';
import { gatewayWorld } from '../support/gateway.js';
import { dataDir, PipelineProcess } from '../support/world.js';

describe('HTTP gateway, with real clients', () => {
  const keysFile = join(mkdtempSync(join(tmpdir(), 'pulso-gateway-')), 'keys.json');
  const { key } = createKey(keysFile, 'segment');
  const { key: cxKey } = createKey(keysFile, 'customerx');
  const { key: browserKey } = createKey(keysFile, 'web', ['https://app.acme.test']);
  const g = gatewayWorld(keysFile, { ratePerKey: 5000 });
  const world = g.world;

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${g.gateway.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
        ...headers,
      },
      body,
    });

  it("Segment's Node SDK: group, track, page and a login reach QuestDB as the mapping says", async () => {
    const errors: unknown[] = [];
    const analytics = new Analytics({
      writeKey: key,
      host: g.gateway.url,
      flushAt: 20,
      flushInterval: 200,
      maxRetries: 2,
    });
    analytics.on('error', (e) => errors.push(e));
    const now = Date.now();
    for (const [client, users] of [
      ['acme', ['ana', 'bia']],
      ['globex', ['caio']],
    ] as const) {
      analytics.group({
        userId: users[0],
        groupId: client,
        traits: { plan: 'pro', status: 'active' },
      });
      for (const u of users) {
        analytics.track({ userId: u, event: 'Signed In', context: { groupId: client } });
        analytics.track({
          userId: u,
          event: 'Relatório Emitido',
          properties: { client_id: client },
          timestamp: new Date(now - 60_000),
        });
        analytics.page({ userId: u, name: 'Pedidos', context: { groupId: client } });
      }
    }
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);
    // The same events, written by hand in Pulso's schema, published straight on NATS for
    // twin clients: the figures the SDK's events give must be the same.
    const twin: object[] = [];
    for (const [client, users] of [
      ['acme', ['ana', 'bia']],
      ['globex', ['caio']],
    ] as const)
      for (const u of users)
        twin.push(
          { kind: 'login', client_id: `${client}-nats`, user_id: u, timestamp: now },
          {
            kind: 'action',
            name: 'acao:relatorio_emitido',
            client_id: `${client}-nats`,
            user_id: u,
            timestamp: now - 60_000,
          },
          {
            kind: 'screen',
            name: 'tela:pedidos',
            client_id: `${client}-nats`,
            user_id: u,
            timestamp: now,
          },
        );
    await world.publish('tracking.events', twin);
    await world.caughtUp(60_000, g.pipeline);
    const figures = async (suffix: string) =>
      (
        await world.sql.query<{
          client_id: string;
          kind: string;
          name: string;
          events: number;
          users: number;
        }>(
          `SELECT client_id, kind, name, events, users FROM usage_daily ORDER BY client_id, kind, name`,
        )
      )
        .filter((r) => (suffix ? r.client_id.endsWith(suffix) : !r.client_id.includes('-')))
        .map((r) => ({ ...r, client_id: r.client_id.replace(suffix, '') }));
    const viaSdk = await figures('');
    expect(viaSdk.length).toBe(6);
    expect(viaSdk).toEqual(await figures('-nats'));
    const rows = await world.sql.query<{
      client_id: string;
      kind: string;
      name: string;
      n: number;
    }>(
      `SELECT client_id, kind, name, count() n FROM events WHERE subject = 'tracking.events.segment' GROUP BY client_id, kind, name ORDER BY client_id, kind, name`,
    );
    expect(rows).toEqual([
      { client_id: 'acme', kind: 'action', name: 'acao:relatorio_emitido', n: 2 },
      { client_id: 'acme', kind: 'login', name: 'login', n: 2 },
      { client_id: 'acme', kind: 'screen', name: 'tela:pedidos', n: 2 },
      { client_id: 'globex', kind: 'action', name: 'acao:relatorio_emitido', n: 1 },
      { client_id: 'globex', kind: 'login', name: 'login', n: 1 },
      { client_id: 'globex', kind: 'screen', name: 'tela:pedidos', n: 1 },
    ]);
    // The device's own time, corrected for its clock (the SDK sends sentAt beside it).
    const [t] = await world.sql.query<{ ts: number }>(
      `SELECT ts FROM events WHERE name = 'acao:relatorio_emitido' AND user_id = 'ana'`,
    );
    expect(Math.abs(t!.ts - (now - 60_000))).toBeLessThan(5_000);
    const attrs = await world.sql.query<{ client_id: string; plan: string }>(
      `SELECT client_id, plan FROM client_attributes LATEST ON ts PARTITION BY client_id ORDER BY client_id`,
    );
    expect(attrs.map((a) => [a.client_id, a.plan])).toEqual([
      ['acme', 'pro'],
      ['globex', 'pro'],
    ]);
  });

  it("the user's latest group names the client of calls without one, also after a restart; identify traits are stored", async () => {
    const analytics = new Analytics({
      writeKey: key,
      host: g.gateway.url,
      flushAt: 1,
      maxRetries: 2,
    });
    // Each call is its own request, and requests may overtake each other: the track is sent
    // once the group call is stored (its callback), as a product would after signing in.
    const delivered = (send: (done: (err?: unknown) => void) => void) =>
      new Promise<void>((resolve, reject) =>
        send((err) => (err ? reject(err as Error) : resolve())),
      );
    await delivered((done) =>
      analytics.identify(
        { userId: 'zoe', traits: { email: 'zoe@umbrella.test', role: 'admin' } },
        done,
      ),
    );
    await delivered((done) =>
      analytics.group({ userId: 'zoe', groupId: 'umbrella', traits: { plan: 'basic' } }, done),
    );
    analytics.track({ userId: 'zoe', event: 'Relatório Emitido' }); // no groupId: zoe's group
    analytics.track({ userId: 'nobody', event: 'Relatório Emitido' }); // no group ever
    await analytics.closeAndFlush({ timeout: 20_000 });
    await world.caughtUp(60_000, g.pipeline);
    const rows = await world.sql.query<{ client_id: string; user_id: string }>(
      `SELECT client_id, user_id FROM events WHERE name = 'acao:relatorio_emitido' AND user_id IN ('zoe', 'nobody')`,
    );
    expect(rows).toEqual([{ client_id: 'umbrella', user_id: 'zoe' }]);
    const unknown = (await world.deadLetters()).filter(
      (d) => d.subject === 'pulso.dlq.unknown_client',
    );
    expect(unknown).toHaveLength(1);
    const [zoe] = await world.sql.query<{ client_id: string; traits: string }>(
      `SELECT client_id, traits FROM user_attributes WHERE user_id = 'zoe' LATEST ON ts PARTITION BY user_id`,
    );
    expect([zoe!.client_id, JSON.parse(zoe!.traits)]).toEqual([
      'umbrella',
      { email: 'zoe@umbrella.test', role: 'admin' },
    ]);

    // A restart (from the checkpoint) knows the link: the next call resolves the same.
    await g.pipeline.kill('SIGKILL');
    g.pipeline = new PipelineProcess().start();
    await g.pipeline.untilLog('pipeline running');
    const again = new Analytics({ writeKey: key, host: g.gateway.url, flushAt: 1, maxRetries: 2 });
    again.page({ userId: 'zoe', name: 'Depois' });
    await again.closeAndFlush({ timeout: 20_000 });
    await world.caughtUp(60_000, g.pipeline);
    expect(
      await world.scalar(
        `SELECT count() FROM events WHERE client_id = 'umbrella' AND name = 'tela:depois'`,
      ),
    ).toBe(1);
  });

  it('CustomerX: a tracking with its documented fields and headers is stored (201)', async () => {
    const now = new Date();
    const today = [now.getUTCDate(), now.getUTCMonth() + 1, now.getUTCFullYear()]
      .map((n) => String(n).padStart(2, '0'))
      .join('/');
    const sentAt = Date.now();
    const res = await fetch(`${g.gateway.url}/api/v1/trackings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', credential: 'acct-1', key: cxKey },
      body: JSON.stringify({
        external_id_client: 'initech',
        type_tracking: 'action',
        identifier: 'acao:emitir_nota',
        email: 'peter@initech.test',
        amount: 3,
        date_tracking: today,
        external_id_product: 'erp',
        external_id_contact: 'peter',
      }),
    });
    expect(res.status).toBe(201);
    await world.caughtUp(60_000, g.pipeline);
    const rows = await world.sql.query<{
      kind: string;
      name: string;
      user_id: string;
      value: number;
      ts: number;
    }>(`SELECT kind, name, user_id, value, ts FROM events WHERE client_id = 'initech'`);
    expect(rows.map(({ ts: _ts, ...r }) => r)).toEqual([
      { kind: 'action', name: 'acao:emitir_nota', user_id: 'peter', value: 3 },
    ]);
    // Today's date: the time it was received (an earlier day would be that day's noon).
    expect(Math.abs(rows[0]!.ts - sentAt)).toBeLessThan(5_000);
  });

  it('answers every status a sender relies on, with its body', async () => {
    // Unknown key, no key.
    const bad = await post('/v1/track', '{}', {
      authorization: `Basic ${Buffer.from('nope:').toString('base64')}`,
    });
    expect([bad.status, await bad.json()]).toEqual([
      401,
      { error: 'unauthorized', message: 'unknown or missing write key' },
    ]);
    // Bad JSON.
    const notJson = await post('/v1/track', '{"event": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { rejected: { code: string }[] }).rejected[0]!.code).toBe(
      'invalid_json',
    );
    // Wrong types: a metric's value must be a number (native API, the contract's reason).
    const wrong = await post(
      '/v1/events',
      JSON.stringify({ kind: 'metric', client_id: 'acme', name: 'metrica:x', value: 'many' }),
    );
    expect(wrong.status).toBe(400);
    const w = (await wrong.json()) as {
      accepted: number;
      rejected: { path: string; code: string }[];
    };
    expect(w.accepted).toBe(0);
    expect(w.rejected[0]).toMatchObject({ code: 'schema_violation', path: '/value' });
    // Over Segment's 32 KB per call.
    const big = await post(
      '/v1/track',
      JSON.stringify({ userId: 'u', event: 'x', properties: { pad: 'x'.repeat(40_000) } }),
    );
    expect(big.status).toBe(413);
    // Not gzip although it says so.
    const gz = await post('/v1/track', Buffer.from('not gzip at all'), {
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(400);
    // Real gzip, as the SDKs send it.
    const zipped = await post(
      '/v1/track',
      gzipSync(
        JSON.stringify({
          userId: 'z',
          event: 'Zipped',
          context: { groupId: 'zip' },
          messageId: 'zip-1',
        }),
      ),
      { 'content-encoding': 'gzip' },
    );
    expect([zipped.status, await zipped.json()]).toEqual([200, { success: true }]);
    // A batch with one bad item among good ones: 400 naming it; the good ones are stored.
    const batch = await post(
      '/v1/batch',
      JSON.stringify({
        batch: [
          {
            type: 'track',
            userId: 'a',
            event: 'Good One',
            messageId: 'b-1',
            context: { groupId: 'batchco' },
          },
          { type: 'track', event: 'No Client', messageId: 'b-2' }, // no client, no user
          {
            type: 'page',
            userId: 'a',
            name: 'Home',
            messageId: 'b-3',
            context: { groupId: 'batchco' },
          },
        ],
      }),
    );
    expect(batch.status).toBe(400);
    const b = (await batch.json()) as {
      accepted: number;
      rejected: { index: number; path: string }[];
    };
    expect(b.accepted).toBe(2);
    expect(b.rejected.map((r) => [r.index, r.path])).toEqual([[1, '/context/groupId']]);
    // The same messageId twice (an SDK's retry): one row.
    for (let i = 0; i < 2; i++)
      expect(
        (
          await post(
            '/v1/track',
            JSON.stringify({
              userId: 'd',
              event: 'Dup',
              messageId: 'dup-1',
              context: { groupId: 'dupco' },
            }),
          )
        ).status,
      ).toBe(200);
    // A browser key from an origin it does not allow; then from the one it does.
    const browser = (origin: string) =>
      fetch(`${g.gateway.url}/v1/p`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({
          writeKey: browserKey,
          userId: 'w',
          name: 'Home',
          context: { groupId: 'webco' },
        }),
      });
    expect((await browser('https://evil.test')).status).toBe(403);
    const allowed = await browser('https://app.acme.test');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.acme.test');

    await world.caughtUp(60_000, g.pipeline);
    expect(await world.scalar(`SELECT count() FROM events WHERE client_id = 'batchco'`)).toBe(2);
    expect(await world.scalar(`SELECT count() FROM events WHERE client_id = 'dupco'`)).toBe(1);
    expect(await world.scalar(`SELECT count() FROM events WHERE client_id = 'zip'`)).toBe(1);
    expect(await world.scalar(`SELECT count() FROM events WHERE client_id = 'webco'`)).toBe(1);
    // The refused item was dead-lettered like any producer's bad input.
    const letters = (await world.deadLetters()).filter(
      (d) => d.body.subject === 'tracking.events.segment',
    );
    expect(letters.length).toBeGreaterThan(0);
  });

  it('counts requests by route and status on /metrics; the access log holds no payload and no key', async () => {
    const lines: string[] = [];
    const logged = await startGateway(
      { ...world.config, gateway: { ...world.config.gateway, port: 0 } },
      keysFile,
      pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
    );
    try {
      const secret = 'a-payload-nobody-should-log';
      const auth = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
      for (const k of [key, 'wrong-key'])
        await fetch(`${logged.url}/v1/track`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(`${k}:`).toString('base64')}`,
          },
          body: JSON.stringify({ userId: 'm', event: secret, context: { groupId: 'metricsco' } }),
        });
      const metrics = await (await fetch(`${logged.url}/metrics`, { headers: auth })).text();
      expect(metrics).toContain('pulso_gateway_requests_total{route="/v1/track",status="200"} 1');
      expect(metrics).toContain('pulso_gateway_requests_total{route="/v1/track",status="401"} 1');
      expect(metrics).toMatch(
        /pulso_gateway_request_seconds_bucket\{le="[\d.]+",route="\/v1\/track",status="200"\}/,
      );
      const access = lines.filter((l) => l.includes('gateway request') && l.includes('/v1/track'));
      expect(access).toHaveLength(2);
      expect(access.map((l) => (JSON.parse(l) as { status: number }).status).sort()).toEqual([
        200, 401,
      ]);
      for (const l of lines) {
        expect(l).not.toContain(secret);
        expect(l).not.toContain(key);
        expect(l).not.toContain('wrong-key');
      }
    } finally {
      await logged.close();
    }
  });

  it('a revoked key stops working without a restart; past the rate, 429 with Retry-After', async () => {
    const { key: temp, entry } = createKey(keysFile, 'temp');
    const send = (k: string) =>
      post(
        '/v1/track',
        JSON.stringify({ userId: 'r', event: 'R', context: { groupId: 'rateco' } }),
        {
          authorization: `Basic ${Buffer.from(`${k}:`).toString('base64')}`,
        },
      );
    await new Promise((r) => setTimeout(r, 1100)); // the file is re-read at most once a second
    expect((await send(temp)).status).toBe(200);
    revokeKey(keysFile, entry.id);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await send(temp)).status).toBe(401);

    const limited = await startGateway(
      { ...world.config, gateway: { ...world.config.gateway, port: 0, ratePerKey: 3 } },
      keysFile,
      createLogger('silent'),
    );
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${limited.url}/v1/track`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
          },
          body: JSON.stringify({ userId: 'r', event: 'R', context: { groupId: 'rateco' } }),
        });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('1,000 concurrent connections are all answered, and nothing crashes', async () => {
    const result = await autocannon({
      url: `${g.gateway.url}/v1/track`,
      connections: 1000,
      amount: 3000,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
      },
      body: JSON.stringify({ userId: 'load', event: 'Load', context: { groupId: 'loadco' } }),
    });
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result['2xx']).toBe(3000);
    await world.caughtUp(120_000, g.pipeline);
    expect(await world.scalar(`SELECT count() FROM events WHERE client_id = 'loadco'`)).toBe(3000);
  });

  it('NATS stopped mid-run: 503 with Retry-After, never a 2xx for what is not stored; then recovery', async () => {
    const send = (id: string) =>
      post(
        '/v1/track',
        JSON.stringify({
          userId: 'n',
          event: 'Outage',
          messageId: id,
          context: { groupId: 'outageco' },
        }),
      );
    expect((await send('o-1')).status).toBe(200);
    await world.closeNats();
    await stopNats(dataDir());
    try {
      const down = await send('o-2');
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(((await down.json()) as { error: string }).error).toBe('unavailable');
    } finally {
      await startNats(natsOptions(dataDir()));
      await world.open();
    }
    // The sender retries, as SDKs do on 503, until the gateway has reconnected.
    let status = 0;
    for (const deadline = Date.now() + 30_000; status !== 200 && Date.now() < deadline;) {
      status = (await send('o-2')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(200);
    // The pipeline ended with the connection (its supervisor restarts it); here, by hand.
    await g.pipeline.kill('SIGKILL');
    g.pipeline = new PipelineProcess().start();
    await world.caughtUp(120_000, g.pipeline);
    const ids = await world.sql.query<{ event_id: string }>(
      `SELECT event_id FROM events WHERE client_id = 'outageco' ORDER BY event_id`,
    );
    expect(ids.map((r) => r.event_id)).toEqual(['o-1', 'o-2']);
  });
});

describe('playbooks on events that came through the gateway', () => {
  const keysFile = join(mkdtempSync(join(tmpdir(), 'pulso-gateway-pb-')), 'keys.json');
  const { key } = createKey(keysFile, 'sdk');
  const g = gatewayWorld(keysFile);
  const world = g.world;

  it('fire for the SDK’s clients exactly as for the same events published on NATS', async () => {
    const DAY = 86_400_000;
    const now = Date.now();
    const clients = ['pb1', 'pb2', 'pb3'];
    const activity = (client: string, i: number) =>
      [
        { at: now - 3 * DAY, login: true },
        ...(i === 0 ? [] : [{ at: now - 2 * DAY, event: 'Relatório Emitido' }]),
        ...(i === 2 ? [{ at: now - 2 * DAY, page: 'Pedidos' }] : []),
      ].map((a) => ({ ...a, client }));
    // Twins first, on NATS (event time only moves forward: the old days before "now").
    await world.publish(
      'tracking.clients',
      clients.map((c) => ({
        client_id: `${c}-nats`,
        status: 'active',
        plan: 'pro',
        timestamp: now - 4 * DAY,
      })),
    );
    await world.publish(
      'tracking.events',
      clients.flatMap((c, i) =>
        activity(c, i).map((a) =>
          a.login
            ? { kind: 'login', client_id: `${c}-nats`, user_id: `${c}-u`, timestamp: a.at }
            : a.page
              ? {
                  kind: 'screen',
                  name: 'tela:pedidos',
                  client_id: `${c}-nats`,
                  user_id: `${c}-u`,
                  timestamp: a.at,
                }
              : {
                  kind: 'action',
                  name: 'acao:relatorio_emitido',
                  client_id: `${c}-nats`,
                  user_id: `${c}-u`,
                  timestamp: a.at,
                },
        ),
      ),
    );
    const analytics = new Analytics({
      writeKey: key,
      host: g.gateway.url,
      flushAt: 100,
      flushInterval: 100,
    });
    clients.forEach((c, i) => {
      analytics.group({
        userId: `${c}-u`,
        groupId: c,
        traits: { status: 'active', plan: 'pro' },
        timestamp: new Date(now - 4 * DAY),
      });
      for (const a of activity(c, i))
        if (a.login)
          analytics.track({ userId: `${c}-u`, event: 'Signed In', timestamp: new Date(a.at) });
        else if (a.page)
          analytics.page({ userId: `${c}-u`, name: a.page, timestamp: new Date(a.at) });
        else analytics.track({ userId: `${c}-u`, event: a.event!, timestamp: new Date(a.at) });
    });
    await analytics.closeAndFlush({ timeout: 20_000 });
    // Now, for everyone: the watermark passes the midnights between, and the playbooks run.
    await world.publish('tracking.events', {
      kind: 'login',
      client_id: 'clock-nats',
      timestamp: now,
    });
    await world.caughtUp(60_000, g.pipeline);
    const alerts = await world.sql.query<{ playbook: string; client_id: string; period: string }>(
      `SELECT playbook, client_id, period FROM alerts ORDER BY playbook, client_id, period`,
    );
    const of = (nats: boolean) =>
      alerts
        .filter(
          (a) =>
            clients.includes(a.client_id.replace('-nats', '')) &&
            a.client_id.endsWith('-nats') === nats,
        )
        .map((a) => ({ ...a, client_id: a.client_id.replace('-nats', '') }));
    expect(of(false).length).toBeGreaterThan(0);
    expect(of(false)).toEqual(of(true));
  });
});
