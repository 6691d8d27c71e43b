/**
 * A generated 30-day stream through the real pipeline (NATS → operators → QuestDB), every
 * figure table compared with an independent reference; then the same stream with the
 * pipeline SIGKILLed at random points, which must leave the tables identical.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { random } from '../fixtures/reference.js';
import { StreamReference } from '../fixtures/stream-reference.js';
import { inFourForms, usageStream, type UsageEvent } from '../fixtures/usage-stream.js';
import { PipelineProcess, World } from '../support/world.js';

const ZONE = 'America/Sao_Paulo';
const LATENESS_MS = 3_600_000;
const ENV = {
  PULSO_WINDOWS__TIME_ZONE: ZONE,
  PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
  PULSO_CHECKPOINT__INTERVAL_SECONDS: '0.3',
  PULSO_INGEST__STORE_RAW_EVENTS: 'false',
};

const { events, late } = usageStream({
  clients: 40,
  users: 160,
  names: 8,
  days: 30,
  events: 40_000,
  start: Date.parse('2026-10-01T05:00:00Z'),
  seed: 42,
  lateEvery: 1999,
});
const onTime = events.filter((e) => !late.includes(e));
const reference = new StreamReference(onTime, ZONE, [1, 7, 30], LATENESS_MS);

/** The stream in four forms, in event-time order: JSON arrays, NDJSON, Arrow, single events. */
const messages = (all: UsageEvent[]) =>
  inFourForms(all, {
    batch: 200,
    arrowBatch: 500,
    subjects: { array: 'tracking.events.web', ndjson: 'tracking.events.app' },
  });

const key = (...parts: unknown[]) => parts.join('|');
const r6 = (v: unknown) => Math.round(Number(v) * 1e6) / 1e6;

async function dump(world: World) {
  const q = (sql: string) => world.sql.query<Record<string, unknown>>(sql);
  return {
    rolling: new Map(
      (await q('SELECT * FROM rolling_figures')).map((r) => [
        key(r.ts, r.client_id, r.figure, r.subject, r.window_days),
        `${r.value}/${r.previous}`,
      ]),
    ),
    daily: new Map(
      (await q('SELECT * FROM usage_daily')).map((r) => [
        key(r.ts, r.client_id, r.kind, r.name),
        `${r.events}/${r.users}/${r6(r.value_sum)}`,
      ]),
    ),
    userDaily: (await q('SELECT count(), sum(events) FROM user_usage_daily'))[0],
    ratios: new Map(
      (await q("SELECT * FROM ratios WHERE pair = 'pedidos_vs_faturamento'")).map((r) => [
        key(r.ts, r.client_id, r.user_id, r.window_days),
        `${r.a}/${r.b}`,
      ]),
    ),
    metrics: new Map(
      (await q('SELECT * FROM metric_figures')).map((r) => [
        key(r.ts, r.client_id, r.name, r.window_days),
        `${r.count}/${r6(r.sum)}/${r.last ?? ''}`,
      ]),
    ),
    lastSeen: new Map(
      (await q('SELECT * FROM last_seen LATEST ON ts PARTITION BY client_id, scope, subject')).map(
        (r) => [key(r.client_id, r.scope, r.subject), Number(r.last_seen_at)],
      ),
    ),
  };
}

describe('windowed figures in QuestDB', () => {
  const world = new World();
  let pipeline: PipelineProcess | undefined;
  let uninterrupted: Awaited<ReturnType<typeof dump>> | undefined;

  beforeAll(async () => {
    await world.open();
    await world.reset();
  });
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(() => world.close());

  it('every figure of a 30-day stream equals the independent reference', async () => {
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    await world.publishAll(messages(events), 1);
    pipeline = new PipelineProcess().start(ENV);
    await world.caughtUp();
    const got = await dump(world);
    uninterrupted = got;

    expect(reference.midnights.length).toBe(30);
    expect(got.rolling).toEqual(reference.rolling());
    expect(got.daily).toEqual(reference.daily());
    expect(Number(got.userDaily!['sum(events)'])).toBe(onTime.filter((e) => e.user_id).length);
    expect(got.ratios).toEqual(reference.ratios('tela:pedidos', 'tela:faturamento', 30));
    expect(got.metrics).toEqual(reference.metrics());
    const seen = reference.lastSeen();
    expect(new Map([...got.lastSeen].filter(([k]) => seen.has(k)))).toEqual(seen);

    const tooLate = (await world.deadLetters()).filter((d) => d.subject === 'pulso.dlq.too_late');
    expect(tooLate.map((d) => JSON.parse(String(d.body.payload_text)).id).sort()).toEqual(
      late.map((e) => e.id).sort(),
    );
  });

  it('SIGKILL at random points, restart each time: every table ends identical', async () => {
    expect(uninterrupted).toBeDefined();
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    await world.publishAll(messages(events), 1);
    const rnd = random(Date.now() % 100_000);
    const kills: number[] = [];
    for (let i = 0; i < 4; i++) {
      pipeline = new PipelineProcess().start(ENV);
      await pipeline.untilLog('pipeline running');
      const after = 300 + Math.floor(rnd() * 2500);
      kills.push(after);
      await new Promise((r) => setTimeout(r, after));
      await pipeline.kill('SIGKILL');
    }
    pipeline = new PipelineProcess().start(ENV);
    await pipeline.untilLog('pipeline running');
    await world.caughtUp();
    expect(await dump(world)).toEqual(uninterrupted);
    expect(pipeline.logs, `killed after ${kills.join(', ')} ms`).toContain(
      'restored from checkpoint',
    );
  });
});
