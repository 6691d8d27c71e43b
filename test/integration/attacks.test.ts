/**
 * Attacks on the running pipeline (real NATS and QuestDB, `pulso run` as its own process):
 * a seeded hostile corpus between good events, the reproductions, a message that
 * kills the pipeline, forged webhook calls. Whatever arrives, the pipeline never exits, every
 * refusal has exactly one dead letter, and every good event is stored exactly once.
 */
import { describe, expect, it } from 'vitest';
import { headers as natsHeaders } from 'nats';
import { decodeMessage, UNRESOLVED_CLIENT } from '../../pipeline/contract/decode.js';
import { deadLetterId, eventDeadLetter } from '../../pipeline/contract/dead-letter.js';
import { isDerivedId } from '../../operators/event-ids.js';
import { limitsOf } from '../../pipeline/run.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { hostileMessages, reproductions, type HostileMessage } from '../fixtures/hostile.js';
import { pipelineWorld, type PipelineProcess, type World } from '../support/world.js';

const SEED = Number(process.env.PULSO_FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.PULSO_FUZZ_CASES ?? 2500);
const enc = new TextEncoder();

const good = (i: number): HostileMessage => ({
  subject: 'tracking.events',
  data: enc.encode(
    JSON.stringify({
      id: `good-${i}`,
      kind: 'screen',
      name: 'tela:ok',
      client_id: `good-${i % 10}`,
    }),
  ),
  kind: 'good',
});

describe('attacks on the running pipeline', () => {
  const { world, start } = pipelineWorld();
  let pipeline: PipelineProcess | undefined;

  /** `n` good events, one message of the faulty client, `n` more good events. */
  const aroundFault = (clientId: string, n: number): HostileMessage[] => [
    ...Array.from({ length: n }, (_, i) => good(i)),
    {
      subject: 'tracking.events',
      data: enc.encode(JSON.stringify({ kind: 'login', client_id: clientId })),
      kind: 'fault',
    },
    ...Array.from({ length: n }, (_, i) => good(n + i)),
  ];

  /** Starts the pipeline `times` times, each run expected to die, and checks each death. */
  async function dies(
    env: Record<string, string>,
    times: number,
    died: (p: PipelineProcess, n: number) => void,
  ) {
    for (let n = 1; n <= times; n++) {
      pipeline = start(env);
      await new Promise<void>((r) => pipeline!.child.once('exit', () => r()));
      died(pipeline, n);
    }
  }

  /** Publishes in order, waiting for each batch of acks; returns each message's stream sequence. */
  async function publish(messages: HostileMessage[]): Promise<number[]> {
    const seqs: number[] = [];
    for (let i = 0; i < messages.length; i += 200) {
      const acks = await Promise.all(
        messages.slice(i, i + 200).map((m) => {
          const h = natsHeaders();
          for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
          // As a producer; garbage ticks as the pipeline itself (a server without roles).
          const js = world.connectionFor(m.subject).jetstream();
          return js.publish(m.subject, m.data, m.headers ? { headers: h } : {});
        }),
      );
      for (const a of acks) seqs.push(a.seq);
    }
    return seqs;
  }

  it(`a seeded hostile corpus (${CASES} cases + the reproductions) between good events: no exit, one dead letter per refusal, good events once`, async () => {
    pipeline = start();
    await pipeline.untilLog('pipeline running');
    const corpus = [...reproductions(), ...hostileMessages(SEED, CASES)];
    const messages: HostileMessage[] = [good(0)];
    corpus.forEach((m, i) => messages.push(m, good(i + 1)));
    const seqs = await publish(messages);
    await world.caughtUp(240_000, pipeline);
    expect(pipeline.child.exitCode).toBeNull();

    // What the contract says of each message, decoded here from the same bytes.
    const limits = limitsOf(world.config);
    const wantDeadLetters = new Map<string, string>();
    const stored = new Set<string>();
    messages.forEach((m, i) => {
      const d = decodeMessage(
        {
          subject: m.subject,
          data: m.data,
          streamSeq: seqs[i]!,
          storedAt: 0,
          ...(m.headers ? { headers: m.headers } : {}),
        },
        limits,
      );
      for (const dl of d.deadLetters)
        wantDeadLetters.set(deadLetterId(dl), `${dl.reason.code} (${m.kind})`);
      for (const e of d.events) {
        // Naming only a user, whom no user update linked to a client: unknown_client.
        if (e.clientId === UNRESOLVED_CLIENT) {
          const dl = eventDeadLetter(e, { code: 'unknown_client', message: '', expected: '' });
          wantDeadLetters.set(deadLetterId(dl), `unknown_client (${m.kind})`);
          continue;
        }
        stored.add(isDerivedId(e) ? e.eventId : `${e.clientId}\u0000${e.eventId}`);
      }
    });
    const got = await world.deadLetters();
    const ids = got.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length); // never twice
    expect(new Map(got.map((d) => [d.id, `${(d.body.reason as { code: string }).code}`]))).toEqual(
      new Map([...wantDeadLetters].map(([id, why]) => [id, why.split(' ')[0]!])),
    );
    expect(got.some((d) => (d.body.reason as { code: string }).code === 'internal_error')).toBe(
      false,
    );
    // Every dead letter fit, and the big ones say they carry a prefix.
    const big = got.find((d) => d.body.payload_bytes === messages[3]!.data.length)!;
    expect(big.body).toMatchObject({
      payload_truncated: true,
      reason: { code: 'event_too_large' },
    });
    for (const code of [
      'too_deep',
      'batch_too_large',
      'invalid_arrow',
      'invalid_json',
      'schema_violation',
      'not_an_object',
    ])
      expect(got.map((d) => (d.body.reason as { code: string }).code)).toContain(code);

    // Every good event exactly once, and exactly the valid ones besides.
    expect(await world.scalar("SELECT count() FROM events WHERE client_id LIKE 'good-%'")).toBe(
      CASES + reproductions().length + 1,
    );
    expect(
      await world.scalar(
        "SELECT count_distinct(event_id) FROM events WHERE client_id LIKE 'good-%'",
      ),
    ).toBe(CASES + reproductions().length + 1);
    expect(await world.scalar('SELECT count() FROM events')).toBe(stored.size);
  });

  it('a message that makes the pipeline fail: after two crashes it is dead-lettered as poison and everything after it is stored', async () => {
    const env = { PULSO_TEST_FAULT_CLIENT: 'crash-me', PULSO_TEST_FAULT_MODE: 'throw' };
    const messages = aroundFault('crash-me', 300);
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    const seqs = await publish(messages);
    const crashSeq = seqs[300]!;
    await dies(env, 2, (p, n) => {
      expect(p.child.exitCode, `death ${n}:\n${p.logs.slice(-2000)}`).toBe(1);
      expect(p.logs).toContain('test fault: an event of client crash-me');
    });
    pipeline = start(env);
    await world.caughtUp(120_000, pipeline);
    expect(pipeline.logs).toContain('is poison');
    const body = (await world.deadLetters()).find((d) => d.subject === 'pulso.dlq.poison')!.body;
    expect(String((body.reason as { message: string }).message)).toContain('test fault');
    const poison = (await world.deadLetters()).filter((d) => d.subject === 'pulso.dlq.poison');
    expect(poison.map((d) => d.id)).toEqual([`dlq-${crashSeq}-poison`]);
    expect(await world.scalar("SELECT count() FROM events WHERE client_id LIKE 'good-%'")).toBe(
      600,
    );
    expect(await world.scalar("SELECT count() FROM events WHERE client_id = 'crash-me'")).toBe(0);
    expect(pipeline.child.exitCode).toBeNull();

    // A replay without checkpoint makes the same decision at the same place.
    await pipeline.kill('SIGTERM');
    await world.sql.query('TRUNCATE TABLE events');
    await world.sql.query('TRUNCATE TABLE ingest_progress');
    await world.forgetCheckpoints();
    pipeline = start(env);
    await world.caughtUp(120_000, pipeline);
    expect(await world.scalar("SELECT count() FROM events WHERE client_id LIKE 'good-%'")).toBe(
      600,
    );
    expect(pipeline.child.exitCode).toBeNull();
  });

  it('a message that kills the process silently (SIGKILL itself): poison after two deaths holding it alone', async () => {
    const env = { PULSO_TEST_FAULT_CLIENT: 'kill-me', PULSO_TEST_FAULT_MODE: 'kill' };
    const messages = aroundFault('kill-me', 100);
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    const seqs = await publish(messages);
    // In a batch: the first death only narrows; then two deaths holding it alone.
    await dies(env, 3, (p, n) =>
      expect(p.child.signalCode, `death ${n}:\n${p.logs.slice(-2000)}`).toBe('SIGKILL'),
    );
    pipeline = start(env);
    await world.caughtUp(120_000, pipeline);
    const poison = (await world.deadLetters()).filter((d) => d.subject === 'pulso.dlq.poison');
    expect(poison.map((d) => d.id)).toEqual([`dlq-${seqs[100]}-poison`]);
    expect(await world.scalar("SELECT count() FROM events WHERE client_id LIKE 'good-%'")).toBe(
      200,
    );
  });

  it('forged webhook calls (unsigned, not JSON, not calls) are dead-lettered; the consumer goes on', async () => {
    pipeline = start();
    await pipeline.untilLog('pipeline running');
    const js = world.pipelineNc.jetstream();
    await js.publish('cs.webhook.x.acme', enc.encode('not json {'));
    await js.publish('cs.webhook.x.acme', enc.encode('{"id":"w","url":5}'));
    await js.publish('cs.webhook.x.acme', enc.encode('['.repeat(100_000) + ']'.repeat(100_000)));
    const deadline = Date.now() + 30_000;
    let got: Awaited<ReturnType<World['deadLetters']>> = [];
    while (Date.now() < deadline) {
      got = (await world.deadLetters().catch(() => [])).filter(
        (d) => d.subject === 'pulso.dlq.output_forged',
      );
      if (got.length >= 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(got.map((d) => d.body.stream)).toEqual(['PULSO_CS', 'PULSO_CS', 'PULSO_CS']);
    expect(pipeline.child.exitCode).toBeNull();
  });
});
