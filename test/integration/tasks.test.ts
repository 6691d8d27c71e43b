/**
 * A task's life through the real pipeline: a client stops using tela:criar_produto (the
 * weekly playbook opens a task), then uses it again (its positive twin fires and closes the
 * task). Both outputs are published once each — also across a SIGKILL and a replay of the
 * whole stream — and QuestDB's tasks table holds the task open, then closed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { PipelineProcess, World } from '../support/world.js';
import { settledOutputs } from '../fixtures/quiet-clients.js';

const DAY = 86_400_000;
const W1 = Date.parse('2026-02-16T00:00:00Z'); // a Monday
const at = (day: number, hour = 10) => W1 + day * DAY + hour * 3_600_000;

function messages() {
  const uses = (client: string, days: number[]) =>
    days.map((d, i) => ({
      id: `${client}-${d}-${i}`,
      kind: 'screen',
      name: 'tela:criar_produto',
      client_id: client,
      timestamp: at(d),
    }));
  return [
    {
      subject: 'tracking.clients',
      payload: ['volta', 'some'].map((c) => ({
        client_id: c,
        timestamp: W1 - DAY,
        status: 'active',
        csm: 'carla@pulso.example',
      })),
    },
    // "volta" uses the screen in week 1, not in week 2, and again in week 3; "some" stops.
    {
      subject: 'tracking.events',
      payload: [...uses('volta', [1, 3, 15, 16]), ...uses('some', [2])],
    },
    {
      subject: 'tracking.events',
      payload: { kind: 'login', client_id: 'volta', timestamp: at(9) },
    },
    { subject: 'tracking.clock', payload: { ts: at(21, 3) } },
  ];
}

describe('task lifecycle through NATS and QuestDB', () => {
  // A duplicate window shorter than the test: the replay must skip what the stream holds.
  const streams = { PULSO_NATS__OUTPUT_STREAM__DUPLICATE_WINDOW_SECONDS: '1' };
  const world = new World(streams);
  let pipeline: PipelineProcess | undefined;
  const env = {
    ...streams,
    PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
    PULSO_CHECKPOINT__INTERVAL_SECONDS: '0.3',
  };
  beforeAll(() => world.open());
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(() => world.close());

  const lifecycle = async () => {
    const all = await world.outputs();
    const of = (subject: string) => all.filter((o) => o.subject === subject);
    return {
      tasks: of('cs.task.criar-produto-sem-uso.volta'),
      closed: of('cs.task.closed.criar-produto-sem-uso.volta'),
      some: of('cs.task.closed.criar-produto-sem-uso.some'),
      all,
    };
  };

  it('a task opened when the client stops, closed by the twin when it resumes; once each, also after a replay', async () => {
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    await world.publishAll(messages(), 1);
    pipeline = new PipelineProcess().start(env);
    await world.caughtUp(120_000, pipeline);
    await settledOutputs(world);
    const { tasks, closed, some } = await lifecycle();
    expect(tasks.map((t) => t.body.period)).toEqual(['2026-W09']);
    expect(closed.map((c) => c.body)).toEqual([
      expect.objectContaining({
        id: `closed/${tasks[0]!.id}`,
        taskId: tasks[0]!.id,
        reason: 'twin',
        by: 'alert/criar-produto-em-uso/volta/2026-W10',
        at: '2026-03-09T00:00:00.000Z',
        owner: 'carla@pulso.example',
      }),
    ]);
    // The client that never came back keeps its tasks open.
    expect(some).toEqual([]);
    const rows = await world.sql.query<{ task_id: string; status: string; reason: string | null }>(
      "SELECT task_id, status, reason FROM tasks WHERE client_id = 'volta' AND playbook = 'criar-produto-sem-uso' ORDER BY ts",
    );
    expect(rows).toEqual([
      { task_id: tasks[0]!.id, status: 'open', reason: null },
      { task_id: tasks[0]!.id, status: 'closed', reason: 'twin' },
    ]);

    // SIGKILL, forget every checkpoint, replay the whole stream: nothing is published again.
    const before = (await lifecycle()).all.length;
    await pipeline.kill('SIGKILL');
    await world.forgetCheckpoints();
    pipeline = new PipelineProcess().start(env);
    await world.caughtUp(120_000, pipeline);
    await new Promise((r) => setTimeout(r, 2000));
    const after = await lifecycle();
    expect(after.all.length).toBe(before);
    expect([after.tasks.length, after.closed.length]).toEqual([1, 1]);
  });
});
