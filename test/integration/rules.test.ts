/**
 * The rules stage through the real pipeline: a 30-day stream and its client attributes go
 * through NATS, the operators and the playbooks; the outputs on cs.> must be exactly those
 * the rules stage computes for that stream in memory, once each — also when the pipeline
 * is SIGKILLed and restarted, and when the whole stream is replayed with no checkpoint.
 * Webhook calls reach a local receiver, signed, retried until accepted.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { Webhook } from 'standardwebhooks';
import { loadPlaybooks, loadRules } from '../../pipeline/config/playbooks.js';
import { dryRun } from '../../pipeline/dry-run.js';
import { validateOutput } from '../../schemas/index.js';
import { outputKindOf, type Output } from '../../operators/playbooks/outputs.js';
import { ev } from '../fixtures/events.js';
import { random } from '../fixtures/reference.js';
import { RulesHarness, WINDOWS } from '../fixtures/rules.js';
import { usageStream } from '../fixtures/usage-stream.js';
import { PipelineProcess, testEnv, World, type StoredMessage } from '../support/world.js';

const LATENESS_MS = 3_600_000;
const SECRET = `whsec_${Buffer.from('the rules test receiver secret!!').toString('base64')}`;
const start = Date.parse('2026-10-01T05:00:00Z');
const { events } = usageStream({
  clients: 40,
  users: 120,
  names: 8,
  days: 30,
  events: 12_000,
  start,
  seed: 7,
  lateEvery: 2999,
});
const clock = Date.parse('2026-11-02T02:00:00Z'); // past the midnight after the last event
const attributes = new Map(
  Array.from({ length: 42 }, (_, i) => [
    `c${i}`,
    { status: i % 10 === 3 ? 'cancelled' : 'active', csm: `csm${i % 3}@pulso.dev` },
  ]),
);
const knownAt = start - 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'pulso-rules-'));
const webhookFile = join(dir, 'webhook.yaml');
let port = 0;

function writeWebhookPlaybook(): void {
  writeFileSync(
    webhookFile,
    `playbooks:
  - id: webhook-sem-login
    title: Webhook when logins stop
    category: Integração
    schedule: { every: weekly }
    filters: [ { attribute: status, op: '=', value: active } ]
    when: { all: [ { inactivity: { kind: login, moreThanDays: 3 } } ] }
    actions: [ { webhook: { url: 'http://127.0.0.1:${port}/hook', secretEnv: TEST_WEBHOOK_SECRET } } ]
`,
  );
}

const ENV = () => ({
  PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
  PULSO_CHECKPOINT__INTERVAL_SECONDS: '0.3',
  PULSO_INGEST__STORE_RAW_EVENTS: 'false',
  // Shorter than the test: a replay must skip what the stream holds by itself.
  PULSO_NATS__OUTPUT_STREAM__DUPLICATE_WINDOW_SECONDS: '1',
  PULSO_RULES__PLAYBOOKS: JSON.stringify(['deploy/playbooks', webhookFile]),
  PULSO_RULES__WEBHOOKS__BACKOFF_SECONDS: '[0.2]',
  // The receiver is on this machine: allowed explicitly, as a deployment would.
  PULSO_RULES__WEBHOOKS__ALLOW_HOSTS: '["127.0.0.1"]',
  PULSO_RULES__WEBHOOKS__ALLOW_HTTP: 'true',
  TEST_WEBHOOK_SECRET: SECRET,
});

const NATS = (() => {
  const n = new World().config.nats;
  return { ...n, outputStream: { ...n.outputStream, duplicateWindowSeconds: 1 } };
})();

function messages() {
  const out: { subject: string; payload: object }[] = [
    {
      subject: 'tracking.clients',
      payload: [...attributes].map(([id, a], i) => ({
        id: `attr-${i}`,
        client_id: id,
        timestamp: knownAt,
        ...a,
      })),
    },
  ];
  for (let i = 0; i < events.length; i += 100)
    out.push({ subject: 'tracking.events', payload: events.slice(i, i + 100) });
  out.push({ subject: 'tracking.clock', payload: { ts: clock } });
  return out;
}

/** What the rules stage computes for this stream in memory, with the same settings. */
function expected(): Output[] {
  const h = new RulesHarness(attributes, {
    latenessMs: LATENESS_MS,
    playbooks: loadPlaybooks(['deploy/playbooks', webhookFile], WINDOWS),
  });
  for (const id of attributes.keys()) h.stage.state.know(id, knownAt);
  const tracking = events.map((e) =>
    ev(e.timestamp, e.client_id, e.name, { kind: e.kind, user: e.user_id ?? null, value: e.value }),
  );
  return h.feed(tracking, clock, 100, false);
}

const view = (list: { id: string; subject: string; body: unknown }[]) =>
  new Map(list.map((o) => [o.id, { subject: o.subject, body: o.body }]));

describe('rules stage through NATS and QuestDB', () => {
  const world = new World();
  let pipeline: PipelineProcess | undefined;
  let server: Server;
  const calls: { id: string; ok: boolean; signed: boolean }[] = [];
  let want: Output[] = [];
  let first: StoredMessage[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        // Verified as any Standard Webhooks receiver would, with the spec's own library.
        let signed = true;
        try {
          new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
        } catch {
          signed = false;
        }
        // Every first attempt fails: delivery must retry.
        const ok = calls.some((c) => c.id === id);
        calls.push({ id, ok, signed });
        res.writeHead(ok ? 200 : 503).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    writeWebhookPlaybook();
    want = expected();
    await world.open();
    await world.reset();
  });
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(async () => {
    server.close();
    await world.close();
  });

  it('publishes exactly the outputs the rules compute, once each, and stores alerts, tasks and health', async () => {
    expect(want.filter((o) => o.kind === 'alert').length).toBeGreaterThan(50);
    await ensureStreams(await world.nc.jetstreamManager(), NATS);
    await world.publishAll(messages(), 1);
    pipeline = new PipelineProcess().start(ENV());
    await world.caughtUp(120_000, pipeline);
    first = await world.outputs();
    expect(first.length).toBe(want.length);
    expect(view(first)).toEqual(view(want));
    for (const o of first)
      expect(validateOutput[outputKindOf(o.subject)!]!(o.body), o.subject).toBe(true);
    // Nothing for the cancelled clients but their computed score.
    expect(
      first.filter(
        (o) =>
          /^c\d*3$/.test(String(o.body.clientId)) && !o.subject.startsWith('cs.health._score.'),
      ),
    ).toEqual([]);

    const count = (table: string) => world.scalar(`SELECT count() FROM ${table}`);
    expect(await count('alerts')).toBe(want.filter((o) => o.kind === 'alert').length);
    // A row when a task opens, one when it closes.
    expect(await count("tasks WHERE status = 'open'")).toBe(
      want.filter((o) => o.kind === 'task').length,
    );
    expect(await count("tasks WHERE status = 'closed'")).toBe(
      want.filter((o) => o.kind === 'task-closed').length,
    );
    expect(await count('health_history')).toBe(want.filter((o) => o.kind === 'health').length);
    const [worst] = await world.sql.query<{ client_id: string; score: number }>(
      'SELECT client_id, score FROM health_history LATEST ON ts PARTITION BY client_id ORDER BY score LIMIT 1',
    );
    const last = new Map(
      want.filter((o) => o.kind === 'health').map((o) => [o.clientId, o.body.after]),
    );
    expect(worst!.score).toBe(Math.min(...[...last.values()].map(Number)));

    // A dry run over the stored figures finds the same firings, emitting nothing.
    const rules = loadRules(new World().config);
    let compared = 0;
    for (const { id } of rules.playbooks) {
      const run = await dryRun(
        world.sql,
        rules.playbooks.find((p) => p.id === id)!,
        rules.health,
        'UTC',
        Date.parse('2026-10-01T00:00:00Z'),
        Date.parse('2026-11-03T00:00:00Z'),
      );
      const fired = want
        .filter((o) => o.kind === 'alert' && o.subject.startsWith(`cs.alert.${id}.`))
        .map((o) => `${new Date(o.at).toISOString()} ${o.clientId}`);
      compared += fired.length;
      expect(run.firings.map((f) => `${f.at} ${f.clientId}`).sort(), id).toEqual(fired.sort());
    }
    expect(compared).toBe(
      want.filter((o) => o.kind === 'alert').length -
        want.filter((o) => o.kind === 'webhook').length,
    );
    expect(await world.outputs()).toHaveLength(first.length);

    // The same through the command line, as an analyst runs it.
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join('dist', 'pipeline', 'cli', 'main.js'), ...args], {
        env: { ...process.env, ...testEnv(), ...ENV() },
        encoding: 'utf8',
      });
    const fired = want.filter((o) => o.subject.startsWith('cs.alert.sem-login-5-dias.'));
    const out = cli(
      'playbooks',
      'dry-run',
      'sem-login-5-dias',
      '--from',
      '2026-10-01',
      '--to',
      '2026-11-03',
    );
    expect(out.status, out.stderr).toBe(0);
    const perDay = [...out.stdout.matchAll(/: (\d+) of \d+ clients would fire/g)].map((m) =>
      Number(m[1]),
    );
    expect(fired.length).toBeGreaterThan(0);
    expect(perDay.reduce((a, b) => a + b, 0)).toBe(fired.length);
    const bad = cli('playbooks', 'validate', webhookFile.replace('webhook.yaml', 'nope.yaml'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('expected a playbook file or directory');

    const hooks = want.filter((o) => o.kind === 'webhook').map((o) => o.id);
    expect(hooks.length).toBeGreaterThan(0);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      if (hooks.every((id) => calls.some((c) => c.id === id && c.ok))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const id of hooks)
      expect(calls.filter((c) => c.id === id).map((c) => c.ok)).toEqual([false, true]);
    expect(calls.every((c) => c.signed)).toBe(true);
  });

  it('SIGKILL at random points, then a replay of the whole stream without checkpoint: no output twice, none missing', async () => {
    expect(first.length).toBeGreaterThan(0);
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), NATS);
    await world.publishAll(messages(), 1);
    const rnd = random(Date.now() % 100_000);
    for (let i = 0; i < 3; i++) {
      pipeline = new PipelineProcess().start(ENV());
      await pipeline.untilLog('pipeline running');
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rnd() * 2000)));
      await pipeline.kill('SIGKILL');
    }
    pipeline = new PipelineProcess().start(ENV());
    await world.caughtUp(120_000, pipeline);
    const afterKills = await world.outputs();
    expect(afterKills.length).toBe(want.length);
    expect(view(afterKills)).toEqual(view(want));
    await pipeline.kill('SIGTERM');

    // Forget everything the pipeline knows and read the stream again from the start.
    await world.forgetCheckpoints();
    await world.sql.query('DROP TABLE ingest_progress');
    await new Promise((r) => setTimeout(r, 1500)); // past the duplicate window
    pipeline = new PipelineProcess().start(ENV());
    await pipeline.untilLog('no usable checkpoint');
    await world.caughtUp(120_000, pipeline);
    const afterReplay = await world.outputs();
    expect(afterReplay.length).toBe(want.length);
    expect(view(afterReplay)).toEqual(view(want));
  });
});
