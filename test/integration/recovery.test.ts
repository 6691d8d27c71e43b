/**
 * Failures of the real processes: the pipeline killed mid-run, and QuestDB unavailable for
 * a while. Every valid event must end up stored exactly once.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startQuestDb, stopQuestDb } from '../../deploy/services/questdb.js';
import { questDbOptions } from '../support/global-services.js';
import { dataDir, PipelineProcess, World } from '../support/world.js';

const BASE = Date.UTC(2026, 10, 1);

function batchesOf(from: number, count: number, size: number) {
  return Array.from({ length: Math.ceil(count / size) }, (_, b) => ({
    subject: 'tracking.events',
    payload: Array.from({ length: Math.min(size, count - b * size) }, (_, j) => {
      const i = from + b * size + j;
      return {
        id: `r-${i}`,
        kind: 'screen',
        name: `tela:t${i % 30}`,
        client_id: `c-${i % 500}`,
        user_id: `u-${i % 2000}`,
        timestamp: BASE + i * 1000,
      };
    }),
  }));
}

function singlesOf(from: number, count: number) {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return {
      subject: 'tracking.events',
      payload: {
        id: `r-${i}`,
        kind: 'action',
        name: 'acao:enviar_pedido',
        client_id: `c-${i % 500}`,
        timestamp: BASE + i * 1000,
      },
    };
  });
}

describe('recovery', () => {
  const world = new World();
  let pipeline: PipelineProcess | undefined;

  beforeAll(() => world.open());
  beforeEach(() => world.reset());
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(() => world.close());

  it('SIGKILL in the middle of a 50,000-event run, then a restart: every event stored exactly once', async () => {
    pipeline = new PipelineProcess().start();
    await pipeline.untilLog('pipeline running');
    // Single-event messages make the run long enough to be killed in its middle.
    const publishing = world.publishAll([
      ...singlesOf(0, 20_000),
      ...batchesOf(20_000, 30_000, 50),
    ]);
    for (;;) {
      const stored = await world.scalar('SELECT count() FROM events').catch(() => 0);
      if (stored >= 5_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await pipeline.kill('SIGKILL');
    const atKill = await world.scalar('SELECT count() FROM events');
    expect(atKill).toBeLessThan(50_000);
    await publishing;

    pipeline = new PipelineProcess().start();
    await pipeline.untilLog('pipeline running');
    await world.caughtUp();
    expect(await world.scalar('SELECT count() FROM events')).toBe(50_000);
    expect(await world.scalar('SELECT count_distinct(event_id) FROM events')).toBe(50_000);
  });

  it('QuestDB unavailable for a while: the pipeline waits, retries, loses nothing and says so', async () => {
    pipeline = new PipelineProcess().start();
    await pipeline.untilLog('pipeline running');
    await world.publishAll(batchesOf(0, 5_000, 100));
    await world.caughtUp();
    expect(await world.scalar('SELECT count() FROM events')).toBe(5_000);

    await world.sql.close();
    await stopQuestDb(dataDir());
    await world.publishAll(batchesOf(5_000, 5_000, 100));
    await pipeline.untilLog('QuestDB unavailable: holding the batch and retrying');
    await new Promise((r) => setTimeout(r, 3000));

    await startQuestDb(questDbOptions(dataDir()));
    await world.open();
    await pipeline.untilLog('QuestDB accepted the held batch; writing resumes');
    await world.caughtUp();
    expect(await world.scalar('SELECT count() FROM events')).toBe(10_000);
    expect(await world.scalar('SELECT count_distinct(event_id) FROM events')).toBe(10_000);
  });
});
