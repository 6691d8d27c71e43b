/**
 * Raw ingest against real NATS and QuestDB: exactly the valid events stored with their
 * values, exactly the invalid ones dead-lettered with their reasons, and idempotence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../../pipeline/run.js';
import { createLogger } from '../../pipeline/log.js';
import { INVALID } from '../fixtures/contract-corpus.js';
import { publishable, World } from '../support/world.js';

const CLIENTS = 200;
const VALID = 10_000;
const INVALID_COUNT = 500;
const BASE = Date.UTC(2026, 10, 1);
const KINDS = ['login', 'screen', 'action', 'metric'] as const;

function event(i: number) {
  const kind = KINDS[i % 4]!;
  return {
    id: `ev-${i}`,
    kind,
    ...(kind === 'login'
      ? {}
      : {
          name:
            kind === 'metric'
              ? 'metrica:volume_vendas'
              : `${kind === 'screen' ? 'tela' : 'acao'}:n${i % 7}`,
        }),
    client_id: `c-${i % CLIENTS}`,
    user_id: `u-${i % 1000}`,
    timestamp: BASE + i * 60_000,
    ...(kind === 'metric' ? { value: (i % 100) + 0.25 } : i % 10 === 1 ? { value: 3 } : {}),
  };
}

/** Half as single-event messages, half as JSON-array batches of 100. */
function validMessages() {
  const singles = Array.from({ length: VALID / 2 }, (_, i) => ({
    subject: 'tracking.events',
    payload: event(i),
  }));
  const batches = Array.from({ length: VALID / 2 / 100 }, (_, b) => ({
    subject: 'tracking.events.batch',
    payload: Array.from({ length: 100 }, (_, j) => event(VALID / 2 + b * 100 + j)),
  }));
  return [...singles, ...batches];
}

describe('ingest into QuestDB', () => {
  const world = new World();
  let pipeline: RunningPipeline;

  beforeAll(async () => {
    await world.open();
    await world.reset();
    pipeline = await startPipeline(world.config, createLogger('warn'));
  });
  afterAll(async () => {
    await pipeline?.stop();
    await world.close();
  });

  it(`stores exactly ${VALID} valid events and dead-letters exactly ${INVALID_COUNT} invalid ones, each with its reason`, async () => {
    const corpus = INVALID.filter((c) => publishable(c.subject));
    const invalid = Array.from({ length: INVALID_COUNT }, (_, i) => corpus[i % corpus.length]!);
    const bad = invalid.map((c) => ({
      subject: c.subject,
      payload: c.payload,
      ...(c.headers ? { headers: c.headers } : {}),
    }));
    // Bad messages land inside the same micro-batches as good ones; the good ones stay in
    // event-time order, published one after the other (so none is too late).
    const messages = validMessages().flatMap((m, i) =>
      i % 20 === 0 && bad.length > 0 ? [m, bad.pop()!] : [m],
    );
    messages.push(...bad);
    await world.publishAll(messages, 1);
    await world.publish(
      'tracking.clients',
      Array.from({ length: CLIENTS }, (_, i) => ({
        client_id: `c-${i}`,
        status: i % 10 === 0 ? 'cancelled' : 'active',
        csm: `csm-${i % 4}`,
        mrr: i * 10,
        timestamp: BASE,
      })),
    );
    await world.caughtUp();

    expect(await world.scalar('SELECT count() FROM events')).toBe(VALID);
    const rows = await world.sql.query<{
      event_id: string;
      client_id: string;
      kind: string;
      name: string;
      user_id: string;
      value: number;
      ts: number;
    }>('SELECT event_id, client_id, kind, name, user_id, value, ts FROM events');
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    expect(byId.size).toBe(VALID);
    for (let i = 0; i < VALID; i++) {
      const e = event(i);
      expect(byId.get(e.id), e.id).toEqual({
        event_id: e.id,
        client_id: e.client_id,
        kind: e.kind,
        name: e.name ?? 'login',
        user_id: e.user_id,
        value: e.value ?? 1,
        ts: e.timestamp,
      });
    }

    const dls = await world.deadLetters();
    expect(dls).toHaveLength(INVALID_COUNT);
    const expectedCodes = invalid.map((c) => c.expect.code).sort();
    expect(dls.map((d) => (d.body.reason as { code: string }).code).sort()).toEqual(expectedCodes);
    for (const d of dls) {
      const reason = d.body.reason as { code: string };
      expect(d.subject).toBe(`pulso.dlq.${reason.code}`);
      expect(typeof d.body.payload_base64).toBe('string');
    }
    const snapshot = await pipeline.metrics.snapshot();
    expect(snapshot.accepted).toBe(VALID);
    expect(snapshot.invalid).toBe(INVALID_COUNT);

    // The latest attributes of every client, one cheap query.
    const latest = await world.sql.query<{ client_id: string; status: string; mrr: number }>(
      'SELECT client_id, status, mrr FROM client_attributes LATEST ON ts PARTITION BY client_id',
    );
    expect(latest).toHaveLength(CLIENTS);
    expect(latest.filter((r) => r.status === 'cancelled')).toHaveLength(CLIENTS / 10);
  });

  it('publishing the same events again (same ids) adds no row', async () => {
    await world.publishAll(validMessages());
    await world.caughtUp();
    expect(await world.scalar('SELECT count() FROM events')).toBe(VALID);
    expect(await world.scalar('SELECT count_distinct(event_id) FROM events')).toBe(VALID);
  });
});
