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
      payload: [
        ...uses('volta', [1, 3, 15, 16]),
        ...uses('some', [2]),
        { id: 'volta-login', kind: 'login', client_id: 'volta', timestamp: at(9) },
      ].sort((a, b) => a.timestamp - b.timestamp),
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

  it('a CS tool marks a task done, another cancelled, one twice, one unknown: each open task closes once, at the next midnight', async () => {
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    const [clients, events] = messages();
    await world.publishAll([clients!, events!], 1);
    // "some" stopped after day 2: a weekly task from week 9 on (the stream has reached
    // March 4th with volta's events). A CS tool then reports, on March 2nd.
    const task = (week: string) => `task/criar-produto-sem-uso/some/2026-${week}/1`;
    await world.publishAll(
      [
        {
          subject: 'tracking.tasks',
          payload: [
            {
              task_id: task('W09'),
              client_id: 'some',
              status: 'done',
              by: 'ana',
              timestamp: at(14, 9),
            },
            { task_id: task('W09'), client_id: 'some', status: 'cancelled', timestamp: at(14, 10) },
            {
              task_id: 'task/nao-existe/some/2026-W09/1',
              client_id: 'some',
              status: 'done',
              timestamp: at(14, 11),
            },
          ],
        },
        { subject: 'tracking.clock', payload: { ts: at(21, 3) } }, // up to W10's run
        {
          subject: 'tracking.tasks.crm',
          payload: {
            task_id: task('W10'),
            client_id: 'some',
            status: 'cancelled',
            timestamp: at(21, 9),
          },
        },
        { subject: 'tracking.clock', payload: { ts: at(22, 3) } }, // the next midnight
      ],
      1,
    );
    pipeline = new PipelineProcess().start(env);
    await world.caughtUp(120_000, pipeline);
    await settledOutputs(world);
    const closed = (await world.outputs()).filter(
      (o) => o.subject === 'cs.task.closed.criar-produto-sem-uso.some',
    );
    expect(closed.map((c) => [c.body.taskId, c.body.reason, c.body.by, c.body.at])).toEqual([
      // At the first midnight after the word came (the stream was past March 4th's).
      [task('W09'), 'done', 'ana', '2026-03-05T00:00:00.000Z'],
      [task('W10'), 'cancelled', 'a CS tool', '2026-03-10T00:00:00.000Z'],
    ]);
    const rows = await world.sql.query<{
      task_id: string;
      status: string;
      reason: string;
      closed_by: string;
    }>(
      "SELECT task_id, status, reason, closed_by FROM tasks WHERE client_id = 'some' AND status = 'closed' ORDER BY ts",
    );
    expect(rows.map((r) => [r.task_id, r.reason, r.closed_by])).toEqual([
      [task('W09'), 'done', 'ana'],
      [task('W10'), 'cancelled', 'a CS tool'],
    ]);
    // Nothing was refused: the updates were valid, only not all of them matched a task.
    expect(await world.deadLetters()).toEqual([]);
  });
});
