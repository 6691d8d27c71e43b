/**
 * Seed 004's iteration, through stored history: 30 % of the churners had been yellow, not
 * red, because a detractor NPS weighed too little. Raise the NPS weight, re-score the
 * history with `pulso health rescore` (a dry run over what QuestDB stored), and every one
 * of them is red.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { PipelineProcess, testEnv, World } from '../support/world.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const M = Date.parse('2026-09-10T00:00:00Z'); // the midnight re-scored (a Thursday)
const FOUR_D = { PULSO_RULES__HEALTH: 'deploy/health-4d.yaml' };

/** Ten churners-to-be: the same usage and a detractor NPS; three pay on time. */
function messages() {
  const clients = Array.from({ length: 10 }, (_, i) => `churner-${i}`);
  const events = clients.flatMap((c) => [
    { id: `${c}-l1`, kind: 'login', client_id: c, timestamp: M - 2 * DAY },
    { id: `${c}-l2`, kind: 'login', client_id: c, timestamp: M - DAY },
    ...[20, 15, 10, 5, 3].map((d) => ({
      id: `${c}-a${d}`,
      kind: 'action',
      name: 'acao:emitir_nota',
      client_id: c,
      timestamp: M - d * DAY,
    })),
    ...[10, 5].map((d) => ({
      id: `${c}-nps${d}`,
      kind: 'metric',
      name: 'nps',
      value: 3,
      client_id: c,
      timestamp: M - d * DAY,
    })),
  ]);
  return [
    {
      subject: 'tracking.clients',
      payload: clients.map((c, i) => ({
        client_id: c,
        timestamp: M - 40 * DAY,
        status: 'active',
        attributes: { dias_em_atraso: i < 3 ? 0 : 40 },
      })),
    },
    { subject: 'tracking.events', payload: events.sort((a, b) => a.timestamp - b.timestamp) },
    { subject: 'tracking.clock', payload: { ts: M + 3 * 3_600_000 } },
  ];
}

describe('health re-score over stored history', () => {
  const world = new World(FOUR_D);
  let pipeline: PipelineProcess | undefined;
  beforeAll(() => world.open());
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(() => world.close());

  it('raising the NPS weight turns the 30 % of churners that were yellow red', async () => {
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    await world.publishAll(messages(), 1);
    pipeline = new PipelineProcess().start({ ...FOUR_D, PULSO_INGEST__FLUSH_INTERVAL_MS: '50' });
    await world.caughtUp(120_000, pipeline);
    await world.sql.walApplied();

    // The same model with NPS at 30 % (from 15) and key actions at 10 % (from 25).
    const model = parse(readFileSync('deploy/health-4d.yaml', 'utf8')) as {
      components: { id: string; weight: number }[];
    };
    for (const c of model.components) {
      if (c.id === 'nps') c.weight = 30;
      if (c.id === 'key_actions') c.weight = 10;
    }
    const file = join(mkdtempSync(join(tmpdir(), 'pulso-rescore-')), 'health-nps.yaml');
    writeFileSync(file, stringify(model));
    const { stdout } = await run(
      process.execPath,
      [
        'dist/pipeline/cli/main.js',
        'health',
        'rescore',
        '--model',
        file,
        '--from',
        '2026-09-10',
        '--to',
        '2026-09-11',
        '--json',
      ],
      { env: { ...process.env, ...testEnv(), ...FOUR_D }, encoding: 'utf8' },
    );
    const [day, ...rest] = stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            at: string;
            bands: { before: Record<string, number>; after: Record<string, number> };
            clients: {
              clientId: string;
              before: { base: number; band: string };
              after: { base: number; band: string };
            }[];
          },
      );
    expect(rest).toEqual([]);
    expect(day!.at).toBe('2026-09-10T00:00:00.000Z');
    // Now: 3 of the 10 (30 %) yellow. Re-scored: all red.
    expect(day!.bands).toEqual({
      before: { green: 0, yellow: 3, red: 7 },
      after: { green: 0, yellow: 0, red: 10 },
    });
    // 4.5 + 17.5 + 15 + 5 + (10 if paying on time) + 2.5 + 5 + 0 + 2.5, then with NPS at 30 %.
    const byClient = new Map(day!.clients.map((c) => [c.clientId, c]));
    expect(byClient.get('churner-0')).toMatchObject({
      before: { base: 62, band: 'yellow' },
      after: { base: 51.5, band: 'red' },
    });
    expect(byClient.get('churner-9')).toMatchObject({
      before: { base: 52, band: 'red' },
      after: { base: 41.5, band: 'red' },
    });
    // The model in use scored the same as the live stage did at that midnight.
    const live = await world.sql.query<{ client_id: string; value: number | null; points: number }>(
      "SELECT client_id, component, value, points FROM health_components WHERE client_id = 'churner-0' AND component = 'nps' LATEST ON ts PARTITION BY client_id, component",
    );
    expect(live.map((r) => [r.value, r.points])).toEqual([[-100, 0]]);
  });
});
