/**
 * Scale-out on a real 3-node JetStream cluster (streams and partition state R3) and the
 * test QuestDB: one 30-day stream, read by workers in several arrangements, must leave
 * every QuestDB table and every `cs.>` output identical to one worker's run — through a
 * worker's SIGKILL and its replacement elsewhere, a change from 2 workers to 3 while they
 * run, and a NATS node's loss.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNatsCluster, stopNatsNode } from '../../deploy/services/nats.js';
import { DDL, PROGRESS_TABLE } from '../../pipeline/adapters/questdb/tables.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { partitionOf } from '../../operators/partition.js';
import { withTimeout } from '../../pipeline/retry.js';
import { PartitionStore } from '../../pipeline/adapters/nats/partition-store.js';
import { inFourForms, usageStream, type StreamMessage } from '../fixtures/usage-stream.js';
import { natsOptions } from '../support/global-services.js';
import { TEST_CLUSTER_PORTS } from '../support/ports.js';
import { dataDir, PipelineProcess, testEnv, World } from '../support/world.js';

const METRICS_PORT = 29464;
/** Messages in the test stream: the client updates, the events' messages and one tick. */
let STREAM_END = 0;
const URLS = TEST_CLUSTER_PORTS.nats.map((p) => `nats://127.0.0.1:${p}`).join(',');
const CLUSTER = {
  NATS_URL: URLS,
  PULSO_NATS__TRACKING_STREAM__REPLICAS: '3',
  PULSO_NATS__DEAD_LETTER_STREAM__REPLICAS: '3',
  PULSO_NATS__OUTPUT_STREAM__REPLICAS: '3',
  PULSO_NATS__STATE__REPLICAS: '3',
};
const ENV = {
  ...CLUSTER,
  PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
  PULSO_CHECKPOINT__INTERVAL_SECONDS: '0.3',
};

const start = Date.parse('2026-10-01T05:00:00Z');
const { events } = usageStream({
  clients: 48,
  users: 150,
  names: 8,
  days: 30,
  events: 12_000,
  start,
  seed: 11,
  lateEvery: 1999,
});

/** Batches that mix clients of every partition, in three encodings, then single events. */
function messages() {
  const out: StreamMessage[] = [
    {
      subject: 'tracking.clients',
      payload: Array.from({ length: 48 }, (_, i) => ({
        id: `attr-${i}`,
        client_id: `c${i}`,
        timestamp: start - 86_400_000,
        status: 'active',
        csm: `csm${i % 3}@pulso.dev`,
      })),
    },
  ];
  out.push(...inFourForms(events, { batch: 150, arrowBatch: 300 }));
  out.push({ subject: 'tracking.clock', payload: { ts: Date.parse('2026-11-02T02:00:00Z') } });
  return out;
}

async function patiently<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Every table but the per-write progress log, row for row, and every output. */
async function dump(world: World) {
  const tables: Record<string, string[]> = {};
  for (const ddl of DDL) {
    const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(ddl)![1]!;
    if (table === PROGRESS_TABLE) continue;
    const rows = await world.sql.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
    tables[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  const outputs = (await world.outputs()).map((o) => JSON.stringify(o)).sort();
  const deadLetters = (await world.deadLetters()).map((d) => d.id).sort();
  return { tables, outputs, deadLetters };
}

type Dump = Awaited<ReturnType<typeof dump>>;

/** What differs from the reference, by table: rows missing and rows extra (a few of each). */
function differences(got: Dump, want: Dump): string[] {
  const lists: [string, string[], string[]][] = [
    ...Object.keys(want.tables).map((t): [string, string[], string[]] => [
      t,
      got.tables[t] ?? [],
      want.tables[t]!,
    ]),
    ['outputs', got.outputs, want.outputs],
    ['deadLetters', got.deadLetters, want.deadLetters],
  ];
  const out: string[] = [];
  for (const [name, g, w] of lists) {
    const have = new Set(g);
    const wanted = new Set(w);
    const missing = w.filter((r) => !have.has(r));
    const extra = g.filter((r) => !wanted.has(r));
    if (missing.length > 0 || extra.length > 0 || g.length !== w.length)
      out.push(
        `${name}: ${g.length} rows, ${w.length} wanted; missing ${missing.slice(0, 3).join(' | ')}; extra ${extra.slice(0, 3).join(' | ')}`,
      );
  }
  return out;
}

/** The cluster, in the test services' folder: stopped with them, even after a killed run. */
const clusterOptions = () => ({
  ...natsOptions(dataDir()),
  url: URLS,
  monitorPort: TEST_CLUSTER_PORTS.monitor,
  clusterPort: TEST_CLUSTER_PORTS.route,
});

describe('partitioned workers on a 3-node NATS cluster', () => {
  const world = new World(CLUSTER);
  const running: PipelineProcess[] = [];
  let reference: Awaited<ReturnType<typeof dump>>;

  /** A worker with its own local folder (crash journal), as on its own machine. */
  const worker = (ordinal: number, count: number, env: Record<string, string> = {}) => {
    const p = new PipelineProcess().start({
      ...ENV,
      PULSO_WORKER__ORDINAL: String(ordinal),
      PULSO_WORKER__COUNT: String(count),
      PULSO_CHECKPOINT__DIR: mkdtempSync(join(tmpdir(), `pulso-worker-${ordinal}-`)),
      ...env,
    });
    running.push(p);
    return p;
  };

  /** Forgets everything derived from the stream (tables, outputs, state), keeping the stream. */
  let runStartedAt = 0;
  const derivedReset = async () => {
    runStartedAt = Date.now();
    for (const p of running.splice(0)) await p.kill('SIGKILL');
    const jsm = await world.nc.jetstreamManager();
    for (const s of [
      world.config.nats.deadLetterStream.name,
      world.config.nats.outputStream.name,
      `KV_${world.config.nats.state.bucket}_partitions`,
      `OBJ_${world.config.nats.state.bucket}_checkpoints`,
    ])
      await jsm.streams.delete(s).catch(() => undefined);
    // A cluster under load takes a while to place new R3 streams: a timeout is tried again.
    await patiently(() => ensureStreams(jsm, world.config.nats));
    for (const ddl of DDL) {
      const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(ddl)![1]!;
      await world.sql.query(`DROP TABLE IF EXISTS ${table}`);
    }
  };

  /** Until QuestDB holds some of this run's writes (not all of them yet): a run "mid-way". */
  const midway = async () => {
    const since = new Date(runStartedAt).toISOString();
    for (;;) {
      const rows = await world
        .scalar(`SELECT count() FROM ingest_progress WHERE ts > '${since}'`)
        .catch(() => 0);
      if (rows >= 20) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    await startNatsCluster(clusterOptions());
    await world.open();
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    await world.publishAll(messages(), 200);
    STREAM_END = (
      await (await world.nc.jetstreamManager()).streams.info(world.config.nats.trackingStream.name)
    ).state.last_seq;
    // The reference: one worker owning all 16 partitions.
    worker(0, 1);
    await world.caughtUp(180_000, running[0]);
    reference = await dump(world);
  }, 300_000);
  afterEach(async () => {
    for (const p of running.splice(0)) await p.kill('SIGKILL');
  });
  afterAll(async () => {
    await world.close();
    // The cluster's nodes stop with the test services (the same data dir's records).
    for (let i = 0; i < TEST_CLUSTER_PORTS.nats.length; i++) await stopNatsNode(dataDir(), i, true);
  });

  it('the reference run stored figures for clients of every partition, and fired outputs', () => {
    const clients = new Set(
      reference.tables.usage_daily!.map((r) => (JSON.parse(r) as { client_id: string }).client_id),
    );
    expect(new Set([...clients].map((c) => partitionOf(c, 16))).size).toBe(16);
    expect(reference.outputs.length).toBeGreaterThan(100);
    expect(reference.tables.rolling_figures!.length).toBeGreaterThan(10_000);
  });

  it('3 workers owning 16 partitions: every table and every output identical to 1 worker; status and /metrics per partition', async () => {
    await derivedReset();
    for (let i = 0; i < 3; i++)
      worker(i, 3, i === 0 ? { PULSO_METRICS__PORT: String(METRICS_PORT) } : {});
    await world.caughtUp(180_000, running[0]);
    expect(await dump(world)).toEqual(reference);
    // /metrics of worker 0: its partitions (0, 3, …, 15), each with its labels.
    const metrics = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
    const lagged = [
      ...metrics.matchAll(/^pulso_partition_stream_seq\{partition="(\d+)"\} (\d+)/gm),
    ];
    expect(lagged.map((m) => Number(m[1]))).toEqual([0, 3, 6, 9, 12, 15]);
    expect(lagged.map((m) => Number(m[2]))).toEqual(lagged.map(() => STREAM_END));
    // `pulso status`: every partition, its owner among the three, no lag once checkpointed.
    for (const p of running) await p.kill('SIGTERM');
    const out = spawnSync(process.execPath, ['dist/pipeline/cli/main.js', 'status', '--json'], {
      env: { ...process.env, ...testEnv(), ...CLUSTER },
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    const rows = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { partition: number; owner: string; seq: number; lag: number });
    expect(rows.map((r) => r.partition)).toEqual(Array.from({ length: 16 }, (_, p) => p));
    expect(new Set(rows.map((r) => /^worker-(\d)/.exec(r.owner)![1]))).toEqual(
      new Set(['0', '1', '2']),
    );
    expect(rows.map((r) => [r.seq, r.lag])).toEqual(rows.map(() => [STREAM_END, 0]));
  });

  it('a worker SIGKILLed mid-run and replaced, same ordinal, elsewhere: resumes from the stored checkpoints', async () => {
    await derivedReset();
    for (let i = 0; i < 3; i++) worker(i, 3);
    await midway();
    // Once every partition of worker 1 has a checkpoint object in NATS: then it dies. (Its
    // claim moves on before the object is put, so the object is what to wait for.)
    const store = await PartitionStore.open(world.nc, world.config.nats.state);
    const ones = Array.from({ length: 16 }, (_, p) => p).filter((p) => p % 3 === 1);
    for (;;) {
      const objects = await Promise.all(ones.map((p) => store.objects.info(`partition-${p}`)));
      if (!objects.includes(null)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await running[1]!.kill('SIGKILL');
    const replacement = worker(1, 3);
    await replacement.untilLog('partitions claimed and restored');
    const restored = /"seqs":\[([\d,]+)\]/.exec(replacement.logs)![1]!.split(',').map(Number);
    expect(restored).toHaveLength(ones.length);
    expect(Math.min(...restored)).toBeGreaterThan(0);
    await world.caughtUp(180_000, replacement);
    expect(await dump(world)).toEqual(reference);
  });

  it('2 workers become 3 while running: partitions move (the old owner lets go), identical results', async () => {
    await derivedReset();
    const old = [worker(0, 2), worker(1, 2)];
    // Both hold all of theirs (a claim made while one still restores is the next test's).
    await Promise.all(old.map((p) => p.untilLog('pipeline running', 120_000)));
    await midway();
    // The new worker claims its partitions from both old ones…
    const third = worker(2, 3);
    await third.untilLog('partitions claimed and restored', 120_000);
    await Promise.all(old.map((p) => p.untilLog('was claimed by', 90_000)));
    // …then the old ones are replaced, one at a time, as a StatefulSet rolls.
    await old[0]!.kill('SIGTERM');
    worker(0, 3);
    await old[1]!.kill('SIGTERM');
    worker(1, 3);
    await world.caughtUp(180_000, third);
    expect(differences(await dump(world), reference)).toEqual([]);
  });

  it('a NATS node killed mid-run (R3): nothing lost, nothing twice', async () => {
    await derivedReset();
    for (let i = 0; i < 3; i++) worker(i, 3);
    // Mid-run: every worker reading, some of the stream written.
    await Promise.all(running.map((p) => p.untilLog('pipeline running')));
    await midway();
    await stopNatsNode(dataDir(), 2, true);
    // The test's own connection rides through too: once JetStream answers it again.
    await patiently(async () => {
      const jsm = await world.nc.jetstreamManager();
      await jsm.streams.info(world.config.nats.trackingStream.name);
    }, 60);
    await world.caughtUp(90_000, running[0]).catch((e: unknown) => {
      // What each worker said last, to see where it stands.
      const tails = running.map((p) => p.logs.split('\n').slice(-15).join('\n'));
      throw new Error(`${String(e)}\n${tails.join('\n---\n')}`);
    });
    // A consumer made while the cluster settles can stall: each reading has a deadline.
    expect(await patiently(() => withTimeout(dump(world), 60_000, 'dump'))).toEqual(reference);
    expect(running.map((p) => p.child.exitCode)).toEqual([null, null, null]);
    // The node comes back and catches up; the workers never noticed more than a reconnect.
    await startNatsCluster(clusterOptions());
  });
});
