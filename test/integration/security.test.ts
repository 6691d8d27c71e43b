/**
 * The trust boundaries, attacked: roles on the project's own NATS, the forgeries a rogue
 * client tried (a tick from the future, a webhook call of its own, an alert dated 2100),
 * the webhook destination policy with a real receiver verifying Standard Webhooks
 * signatures with the spec's library, and QuestDB's credentials.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, nkeyAuthenticator } from 'nats';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedFileOf } from '../../deploy/services/nats-roles.js';
import { natsDirOf } from '../../deploy/services/nats.js';
import { readQuestDbCredentials } from '../../deploy/services/questdb.js';
import { firingOf, webhookOutput } from '../../operators/playbooks/outputs.js';
import { outputSigningKey, OutputSigner } from '../../pipeline/adapters/nats/output-signature.js';
import { OutputPublisher } from '../../pipeline/adapters/nats/outputs.js';
import { PartitionStore, type OutputTail } from '../../pipeline/adapters/nats/partition-store.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { QuestSql } from '../../pipeline/adapters/questdb/sql.js';
import { startWebhooks } from '../../pipeline/adapters/webhooks.js';
import { loadPlaybooks } from '../../pipeline/config/playbooks.js';
import { createLogger } from '../../pipeline/log.js';
import { WINDOWS } from '../fixtures/rules.js';
import { TEST_PORTS } from '../support/ports.js';
import { dataDir, pipelineWorld, testEnv, World } from '../support/world.js';

const enc = new TextEncoder();
const DAY = 86_400_000;

/** Resolves with the error a promise rejects with, or fails the test if it resolves. */
async function refusal(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a refusal, but it was allowed');
    },
    (e: Error) => e,
  );
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  for (const deadline = Date.now() + ms; ;) {
    const got = await f();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('roles on the project’s NATS', () => {
  const world = new World();
  beforeAll(async () => {
    await world.open();
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
  });
  afterAll(() => world.close());

  it('a client without credentials is refused', async () => {
    const e = await refusal(connect({ servers: world.config.nats.url, reconnect: false }));
    expect(e.message).toMatch(/authorization/i);
  });

  it('publisher publishes events and client updates, and nothing else', async () => {
    const nc = await world.connect('publisher');
    try {
      const js = nc.jetstream();
      const ack = await js.publish('tracking.events.test', enc.encode('{}'));
      expect(ack.stream).toBe(world.config.nats.trackingStream.name);
      await js.publish('tracking.clients', enc.encode('[]'));
      const before = await lastSeq(world);
      for (const subject of ['tracking.clock', 'cs.alert.x.y', 'pulso.dlq.x', 'tracking.x'])
        await refusal(js.publish(subject, enc.encode('{"ts":1}'), { timeout: 1500 }));
      expect(await lastSeq(world)).toBe(before);
      const jsm = await refusal(nc.jetstreamManager());
      expect(jsm.message).toMatch(/permission|timeout/i);
      await refusal(
        nc.request(`$JS.API.STREAM.DELETE.${world.config.nats.trackingStream.name}`, undefined, {
          timeout: 1500,
        }),
      );
      await refusal(
        nc.request(`$JS.API.STREAM.PURGE.${world.config.nats.outputStream.name}`, undefined, {
          timeout: 1500,
        }),
      );
      const info = await (
        await world.nc.jetstreamManager()
      ).streams.info(world.config.nats.trackingStream.name);
      expect(info.state.last_seq).toBe(before);
    } finally {
      await nc.close();
    }
  });

  it('reader consumes cs.> (as a subscriber and with its own consumer) and publishes only task updates', async () => {
    const nc = await world.connect('reader');
    try {
      const sub = nc.subscribe('cs.>', { max: 1 });
      const seen = (async () => {
        for await (const m of sub) return m.subject;
        return undefined;
      })();
      await nc.flush();
      await world.pipelineNc.jetstream().publish('cs.alert.p.acme', enc.encode('{"x":1}'));
      expect(await seen).toBe('cs.alert.p.acme');
      const consumer = await nc.jetstream().consumers.get(world.config.nats.outputStream.name);
      const m = await consumer.next({ expires: 5000 });
      expect(m?.subject).toBe('cs.alert.p.acme');
      for (const subject of ['tracking.events', 'cs.alert.p.acme', 'pulso.dlq.x'])
        await refusal(nc.jetstream().publish(subject, enc.encode('{}'), { timeout: 1500 }));
      // A CS tool says a task is done: the one thing it may write, and a producer may not.
      const done = enc.encode(
        '{"task_id":"task/p/acme/2026-W01/0","client_id":"acme","status":"done"}',
      );
      expect((await nc.jetstream().publish('tracking.tasks', done)).stream).toBe(
        world.config.nats.trackingStream.name,
      );
      await refusal(
        world.publisherNc.jetstream().publish('tracking.tasks', done, { timeout: 1500 }),
      );
      await refusal(
        nc.request(`$JS.API.STREAM.DELETE.${world.config.nats.outputStream.name}`, undefined, {
          timeout: 1500,
        }),
      );
      // Nor can it read the tracking stream: events are not its to see.
      await refusal(
        nc
          .jetstream()
          .consumers.get(world.config.nats.trackingStream.name)
          .then((c) => c.next({ expires: 1500 })),
      );
    } finally {
      await nc.close();
    }
  });

  it('`pulso services credentials publisher` prints what a producer needs, and it works', async () => {
    const r = spawnSync(
      process.execPath,
      ['dist/pipeline/cli/main.js', 'services', 'credentials', 'publisher'],
      { env: { ...process.env, ...testEnv() }, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as { url: string; nkeySeed: string; inboxPrefix: string };
    expect(c.nkeySeed).toBe(
      readFileSync(seedFileOf(natsDirOf(dataDir()), 'publisher'), 'utf8').trim(),
    );
    const nc = await connect({
      servers: c.url,
      authenticator: nkeyAuthenticator(enc.encode(c.nkeySeed)),
      inboxPrefix: c.inboxPrefix,
    });
    await nc.jetstream().publish('tracking.events.cli', enc.encode('{}'));
    await nc.close();
  });
});

async function lastSeq(world: World): Promise<number> {
  const jsm = await world.nc.jetstreamManager();
  return (await jsm.streams.info(world.config.nats.trackingStream.name)).state.last_seq;
}

describe('forgeries, replayed against the running pipeline', () => {
  const { world, start } = pipelineWorld();

  it('a tick two days ahead is dead-lettered: no midnight moves, later events are not too late; no secret reaches the logs', async () => {
    const pipeline = start({ PULSO_LOG__LEVEL: 'debug' });
    await pipeline.untilLog('pipeline running');
    const now = Date.now();
    await world.publish('tracking.clock', { ts: now + 2 * DAY });
    await world.publish('tracking.clock', { ts: Date.UTC(2100, 0, 2) });
    const events = Array.from({ length: 50 }, (_, i) => ({
      id: `after-tick-${i}`,
      kind: 'login',
      name: 'login',
      client_id: `c${i % 5}`,
      timestamp: new Date(now - 1000).toISOString(),
    }));
    await world.publish('tracking.events', events);
    await world.caughtUp(60_000, pipeline);
    const letters = await world.deadLetters();
    expect(letters.map((d) => d.subject).sort()).toEqual([
      'pulso.dlq.invalid_timestamp',
      'pulso.dlq.timestamp_in_future',
    ]);
    expect(letters.map((d) => d.body.subject)).toEqual(['tracking.clock', 'tracking.clock']);
    expect(await world.scalar(`SELECT count() FROM events WHERE kind = 'login'`)).toBe(50);
    expect(pipeline.logs).not.toContain('midnight evaluated');
    expect(await world.scalar('SELECT count() FROM alerts')).toBe(0);

    // Nothing secret in what the pipeline wrote, even at debug level.
    const secrets = [
      world.config.questdb.password!,
      world.config.questdb.readOnlyPassword!,
      readFileSync(seedFileOf(natsDirOf(dataDir()), 'pipeline'), 'utf8').trim(),
      readFileSync(join(dataDir(), 'secrets', 'output-signing.key'), 'utf8').trim(),
    ];
    expect(secrets.filter((s) => s.length >= 16)).toHaveLength(4);
    for (const s of secrets) expect(pipeline.logs).not.toContain(s);
  });
});

describe('trusted outputs and the webhook destination policy', () => {
  const world = new World();
  const log = createLogger(process.env.SECURITY_TEST_LOG ?? 'silent');
  const dir = mkdtempSync(join(tmpdir(), 'pulso-security-'));
  const secret = `whsec_${Buffer.from('the security test receiver key!!').toString('base64')}`;
  const received: { path: string; verified: boolean; headers: IncomingMessage['headers'] }[] = [];
  let server: Server;
  let port = 0;
  const signer = new OutputSigner(Buffer.from('a key only this test pipeline has'));
  /** Partition p's output tail in the partition state, as the pipeline keeps it. */
  const tailOf = async (p: number) => {
    const store = await PartitionStore.open(world.pipelineNc, world.config.nats.state);
    return { read: () => store.tail(p), write: (t: OutputTail) => store.setTail(p, t) };
  };
  const stream = () => world.config.nats.outputStream.name;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/redirect') {
          res.writeHead(302, { location: `http://127.0.0.1:${port}/internal-admin` }).end();
          return;
        }
        let verified = true;
        try {
          new Webhook(secret).verify(body, req.headers as Record<string, string>);
        } catch {
          verified = false;
        }
        received.push({ path: req.url ?? '', verified, headers: req.headers });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    await world.open();
  });
  beforeEach(async () => {
    received.length = 0;
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
  });
  afterAll(async () => {
    server.close();
    await world.close();
  });

  /** Playbooks whose webhook actions go to these URLs, one playbook each. */
  function playbooks(urls: string[]) {
    const file = join(dir, `hooks-${urls.length}-${Date.now()}.yaml`);
    writeFileSync(
      file,
      `playbooks:\n${urls
        .map(
          (u, i) => `  - id: hook-${i}
    title: Hook ${i}
    category: Integração
    schedule: { every: daily }
    when: { all: [ { inactivity: { kind: login, moreThanDays: 3 } } ] }
    actions: [ { webhook: { url: '${u}', secretEnv: SECURITY_TEST_SECRET } } ]
`,
        )
        .join('')}`,
    );
    return loadPlaybooks([file], WINDOWS);
  }

  const callOf = (playbook: string, client = 'acme') =>
    webhookOutput(firingOf(playbook, client, '2026-11-30', Date.parse('2026-12-01T00:00:00Z')), 0, {
      url: 'https://ignored.example/',
      secretEnv: null,
      alert: {},
    });

  async function deliverer(
    pbs: ReturnType<typeof playbooks>,
    allow: Partial<Record<string, unknown>>,
  ) {
    return startWebhooks(world.pipelineNc, stream(), {
      settings: {
        ...world.config.rules.webhooks,
        backoffSeconds: [0.2],
        maxDeliveries: 2,
        allowHosts: [],
        allowCidrs: [],
        allowHttp: false,
        ...allow,
      },
      playbooks: pbs,
      signer,
      env: { SECURITY_TEST_SECRET: secret, PATH: 'not a secret to sign with' },
      log,
    });
  }

  const letters = async (code: string, n: number) =>
    until(`${n} ${code} dead letters`, async () => {
      const got = (await world.deadLetters()).filter((d) => d.subject === `pulso.dlq.${code}`);
      return got.length >= n ? got : undefined;
    });

  it('a forged webhook call (its own URL and secret variable, unsigned or signed with another key) is never delivered', async () => {
    const pbs = playbooks([`http://127.0.0.1:${port}/hook`]);
    const hooks = await deliverer(pbs, { allowHosts: ['127.0.0.1'], allowHttp: true });
    try {
      const forged = {
        ...callOf('hook-0').body,
        url: `http://127.0.0.1:${port}/internal-admin`,
        secretEnv: 'PATH',
      };
      const js = world.pipelineNc.jetstream();
      await js.publish('cs.webhook.hook-0.acme', enc.encode(JSON.stringify(forged)));
      const h = natsHeaders();
      const other = new OutputSigner(Buffer.from('a key the forger made up himself'));
      const data = enc.encode(JSON.stringify(forged));
      // Its own id: one of the genuine call's would make JetStream drop that call as a
      // duplicate — which only the role's permissions prevent (see the README).
      h.set('Nats-Msg-Id', 'forged-1');
      h.set('Pulso-At', '1');
      h.set('Pulso-Output-Signature', other.sign('forged-1', '1', 'cs.webhook.hook-0.acme', data));
      await js.publish('cs.webhook.hook-0.acme', data, { headers: h });
      const got = await letters('output_forged', 2);
      expect(got.map((d) => d.body.stream)).toEqual([stream(), stream()]);
      // A genuine call of the same playbook is delivered — to the playbook's URL, signed.
      const publisher = await OutputPublisher.open(js, signer, await tailOf(0));
      await publisher.publish([callOf('hook-0')]);
      await until('the genuine call', async () => (received.length > 0 ? true : undefined));
      expect(received.map((r) => [r.path, r.verified])).toEqual([['/hook', true]]);
      expect(received[0]!.headers['webhook-id']).toBe(callOf('hook-0').id);
    } finally {
      await hooks.stop();
    }
  });

  it('loopback, private, metadata and redirecting destinations are refused and dead-lettered with the reason', async () => {
    const urls = [
      `http://127.0.0.1:${port}/hook`,
      'https://10.1.2.3/hook',
      'https://169.254.169.254/latest/meta-data/',
      `http://localhost:${port}/redirect`,
      `https://127.0.0.1:${port}/hook`,
    ];
    const pbs = playbooks(urls);
    // Only the redirecting host is allowed (over http): its redirect is refused, not followed.
    const hooks = await deliverer(pbs, { allowHosts: ['localhost'], allowHttp: true });
    try {
      const publisher = await OutputPublisher.open(
        world.pipelineNc.jetstream(),
        signer,
        await tailOf(0),
      );
      await publisher.publish(urls.map((_, i) => callOf(`hook-${i}`)));
      const got = await letters('webhook_refused', urls.length);
      const all = got.map((d) => (d.body.reason as { message: string }).message).join('\n');
      expect(all).toContain('127.0.0.1 is a loopback address');
      expect(all).toContain('10.1.2.3 is a private address');
      expect(all).toContain('169.254.169.254 is a linkLocal address');
      expect(all).toContain(`a redirect to http://127.0.0.1:${port}/internal-admin`);
      expect(received).toEqual([]); // nothing reached the receiver
    } finally {
      await hooks.stop();
    }
  });

  it('an alert forged with Pulso-At in 2100 does not silence real outputs after a restart', async () => {
    const js = world.pipelineNc.jetstream();
    const h = natsHeaders();
    h.set('Pulso-At', String(Date.UTC(2100, 0, 1)));
    h.set('Pulso-Kind', 'alert');
    await js.publish('cs.alert.hook-0.acme', enc.encode('{}'), {
      msgID: 'forged-2100',
      headers: h,
    });
    const real = ['acme', 'globex', 'initech'].map((c) => callOf('hook-0', c));
    const first = await OutputPublisher.open(js, signer, await tailOf(3));
    expect(await first.publish(real)).toEqual({ published: 3, skipped: 0 });
    // A restart reads the partition's tail again: the real outputs are not published twice.
    const again = await OutputPublisher.open(js, signer, await tailOf(3));
    expect(again.at).toEqual({ at: real[0]!.at, count: 3 });
    expect(await again.publish(real)).toEqual({ published: 0, skipped: 3 });
    expect((await world.outputs()).map((o) => o.id)).toEqual([
      'forged-2100',
      ...real.map((o) => o.id),
    ]);
    // The tail is the pipeline's alone: neither a publisher nor a reader may write it.
    for (const role of ['publisher', 'reader'] as const) {
      const nc = await world.connect(role);
      try {
        const kv = `$KV.${world.config.nats.state.bucket}_partitions.tail.3`;
        await expect(
          nc.jetstream().publish(kv, enc.encode('{"at":4102444800000,"count":1000}'), {
            timeout: 1500,
          }),
        ).rejects.toThrow(/permission|timeout|no responders/i);
      } finally {
        await nc.close();
      }
    }
    expect((await (await tailOf(3)).read())!.count).toBe(3);
  });

  it('the signing key is generated owner-only on first use, and refused when too short', () => {
    const d = mkdtempSync(join(tmpdir(), 'pulso-key-'));
    const a = outputSigningKey(undefined, d, 'default');
    const b = outputSigningKey(undefined, d, 'default');
    const body = enc.encode('{}');
    expect(a.sign('i', '1', 's', body)).toBe(b.sign('i', '1', 's', body));
    const file = join(d, 'secrets', 'output-signing.key');
    expect(spawnSync('stat', ['-c', '%a', file], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    writeFileSync(join(d, 'short.key'), Buffer.from('short').toString('base64'));
    expect(() => outputSigningKey(join(d, 'short.key'), d, 'file x.yaml')).toThrow(
      /at least 16 bytes/,
    );
  });
});

describe('QuestDB credentials', () => {
  const generated = () => readQuestDbCredentials(dataDir())!;
  const base = () => new World().config.questdb;

  it('were generated: never admin/quest, owner-only', () => {
    const c = generated();
    expect(c.password).not.toBe('quest');
    expect(c.password.length).toBeGreaterThanOrEqual(20);
    const file = join(dataDir(), 'questdb', 'credentials.json');
    expect(spawnSync('stat', ['-c', '%a', file], { encoding: 'utf8' }).stdout.trim()).toBe('600');
  });

  it('unauthenticated /exec is refused; the default admin/quest is refused on PG', async () => {
    const url = `http://127.0.0.1:${TEST_PORTS.questdbHttp}/exec?query=${encodeURIComponent('drop table events')}`;
    expect((await fetch(url)).status).toBe(401);
    const wrong = Buffer.from('admin:quest').toString('base64');
    expect((await fetch(url, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
    const sql = new QuestSql({ ...base(), user: 'admin', password: 'quest' });
    await refusal(sql.query('SELECT 1'));
    await sql.close();
  });

  it('the read-only user reads, and cannot create or drop a table', async () => {
    const c = generated();
    const analyst = new QuestSql({ ...base(), user: c.readOnlyUser, password: c.readOnlyPassword });
    const admin = new QuestSql(base());
    try {
      await admin.query(
        'CREATE TABLE IF NOT EXISTS security_probe (ts TIMESTAMP, v INT) TIMESTAMP(ts)',
      );
      expect(await analyst.query('SELECT count() n FROM security_probe')).toEqual([{ n: 0 }]);
      await refusal(analyst.query('CREATE TABLE analyst_made (ts TIMESTAMP) TIMESTAMP(ts)'));
      await refusal(analyst.query('DROP TABLE security_probe'));
      await refusal(analyst.query(`INSERT INTO security_probe VALUES (now(), 1)`));
      expect(await admin.query('SELECT count() n FROM security_probe')).toEqual([{ n: 0 }]);
    } finally {
      await admin.query('DROP TABLE IF EXISTS security_probe');
      await analyst.close();
      await admin.close();
    }
  });
});
