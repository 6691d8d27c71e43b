/**
 * The dashboards verified where they can fail without a Grafana: the demo stream goes
 * through the real pipeline, then every panel's and variable's SQL — variables and the
 * QuestDB plugin's macros expanded as Grafana and the plugin do — runs against the real
 * QuestDB. Each must succeed and return rows; key panels are checked against values
 * computed independently (from the raw events and from the health messages on NATS).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expand } from '../../dashboards/expand.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { panelQueries } from '../../dashboards/index.js';
import { QuestSql } from '../../pipeline/adapters/questdb/sql.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { runDemo } from '../../pipeline/demo/publish.js';
import { createLogger } from '../../pipeline/log.js';
import { PipelineProcess, testEnv, World } from '../support/world.js';

const DAY = 86_400_000;
const DEMO = {
  PULSO_DEMO__CLIENTS: '40',
  PULSO_DEMO__HISTORY_DAYS: '35',
  PULSO_DEMO__RATE_PER_SECOND: '50',
};

describe('dashboards against real QuestDB', () => {
  const world = new World();
  // The panels' queries run as Grafana runs them: as the built-in read-only user.
  const analyst = new QuestSql({
    ...world.config.questdb,
    user: world.config.questdb.readOnlyUser!,
    password: world.config.questdb.readOnlyPassword!,
  });
  let pipeline: PipelineProcess | undefined;
  const to = Date.now() + 60_000;
  const from = to - 40 * DAY;
  const range = { from, to, intervalMs: 3_600_000 };
  let client = '';

  beforeAll(async () => {
    await world.open();
    await world.reset();
    const config = loadConfig({ env: { ...testEnv(), ...DEMO } });
    await ensureStreams(await world.nc.jetstreamManager(), config.nats);
    await runDemo({
      config,
      log: createLogger('warn'),
      signal: new AbortController().signal,
      durationSeconds: 1,
    });
    pipeline = new PipelineProcess().start(DEMO);
    await world.caughtUp(180_000, pipeline);
    const [c] = await world.sql.query<{ client_id: string }>(
      `SELECT client_id, count() n FROM alerts WHERE client_id IN (SELECT client_id FROM client_tags WHERE op = 'add') GROUP BY client_id ORDER BY n DESC, client_id LIMIT 1`,
    );
    client = c!.client_id;
  });
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(async () => {
    await analyst.close();
    await world.close();
  });

  it('every panel and variable query succeeds and returns rows, for all clients and for one client', async () => {
    const failures: string[] = [];
    const queries = panelQueries();
    for (const q of queries) {
      const text = expand(q.rawSql, {
        ...range,
        variables: { client, segment: '__all', csm: '__all' },
      });
      const rows = await analyst.query(text).catch((e: Error) => {
        failures.push(`${q.dashboard} / ${q.panel} (${q.refId}): ${e.message}\n  ${text}`);
        return undefined;
      });
      if (rows && rows.length === 0)
        failures.push(`${q.dashboard} / ${q.panel} (${q.refId}): no rows\n  ${text}`);
    }
    expect(failures).toEqual([]);
    expect(queries.length).toBeGreaterThan(40);
  });

  it('the segment and CSM filters apply: the chosen client is in its own segment and CSM, and filters narrow', async () => {
    const [a] = await analyst.query<{ segment: string; csm: string }>(
      `SELECT segment, csm FROM client_attributes WHERE client_id = '${client}' LATEST ON ts PARTITION BY client_id`,
    );
    const variables = { client, segment: a!.segment, csm: a!.csm };
    for (const q of panelQueries()) await analyst.query(expand(q.rawSql, { ...range, variables }));
    const active = panelQueries().find((q) => q.panel === 'Active clients')!;
    const count = async (v: Record<string, string>) =>
      Number(
        Object.values(
          (await analyst.query(expand(active.rawSql, { ...range, variables: v })))[0]!,
        )[0],
      );
    const all = await count({ segment: '__all', csm: '__all' });
    const narrowed = await count(variables);
    expect(narrowed).toBeGreaterThan(0);
    expect(narrowed).toBeLessThan(all);
  });

  it('logged-in users per day equal distinct (client, user) logins per day in the raw events', async () => {
    const panel = panelQueries().find((q) => q.panel === 'Logged-in users per day')!;
    const got = await analyst.query<{ ts: number; logged_in: number }>(
      expand(panel.rawSql, { ...range, variables: { segment: '__all', csm: '__all' } }),
    );
    const raw = await analyst.query<{ ts: number; client_id: string; user_id: string }>(
      `SELECT ts, client_id, user_id FROM events WHERE kind = 'login' AND user_id IS NOT NULL`,
    );
    const perDay = new Map<number, Set<string>>();
    for (const r of raw) {
      const day = Math.floor(r.ts / DAY) * DAY;
      if (!perDay.has(day)) perDay.set(day, new Set());
      perDay.get(day)!.add(`${r.client_id}/${r.user_id}`);
    }
    const expected = new Map([...perDay].map(([d, s]) => [d, s.size]));
    expect(new Map(got.map((r) => [Number(r.ts), Number(r.logged_in)]))).toEqual(expected);
    expect(expected.size).toBeGreaterThan(30);
  });

  it('red clients now equal the clients whose latest health message on NATS is red', async () => {
    const panel = panelQueries().find((q) => q.panel === 'Red clients')!;
    const [row] = await analyst.query(
      expand(panel.rawSql, { ...range, variables: { segment: '__all', csm: '__all' } }),
    );
    const latest = new Map<string, { at: number; band: string }>();
    for (const m of await world.outputs()) {
      if (!m.subject.startsWith('cs.health.')) continue;
      const at = Date.parse(String(m.body.at));
      const prev = latest.get(String(m.body.clientId));
      if (!prev || at >= prev.at)
        latest.set(String(m.body.clientId), { at, band: String(m.body.bandAfter) });
    }
    const red = [...latest.values()].filter((v) => v.band === 'red').length;
    expect(Number(Object.values(row!)[0])).toBe(red);
    expect(red).toBeGreaterThan(0);
  });
});
