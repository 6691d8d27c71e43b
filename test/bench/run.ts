/**
 * `npm run bench`: the real pipeline (its own process) against real NATS and QuestDB,
 * started here on their own ports, next to the ceiling measured in the same run.
 *
 * Workload: 10,000 clients, 30 event names, 50,000 users. Phases:
 *   history   1,000,000 events over 30 days (JSON batches): the replay throughput, with 30
 *             midnights evaluated on the way; then SIGKILL + restart: recovery time
 *   single    one-event JSON messages within the current day, vs the ack-all ceiling
 *   arrow     Arrow IPC batches of 1,000 events; json: JSON array batches of 1,000
 *   latency   one-event messages at half the sustained rate: publish → visible in QuestDB
 *   raw on    the single-event phase again with raw-event storage switched on
 *   memory    RSS per active (client, event name) key and per client, operators alone, no user
 *             state; bytes per remembered event id; the longest event-loop stall of a checkpoint
 *   gateway   HTTP gateway → JetStream (autocannon): single-event calls and 100-event batches,
 *             accepted events/s and request latency, next to publishing straight to JetStream
 *   rules     100,000 clients × the shipped playbooks at one midnight: evaluations/s in
 *             process, and midnight → last alert published through the real pipeline
 * `--phases figures,gateway,rules,memory` picks some. BENCH_LOG_FILE=<file> keeps the pipeline's logs.
 * Prints a table and, with --json FILE, writes [{ name, value, unit, ceiling }]. With
 * --markdown FILE (docs/benchmark.md is the project's one place for figures) it writes the
 * same table as Markdown, with the machine, and with --compare BASE.json a column of a
 * previous run's figures beside this run's.
 */
import { streamNamesOf } from '../../deploy/services/nats-roles.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { headers, type NatsConnection } from 'nats';
import { connectAs } from '../../pipeline/adapters/nats/connect.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { QuestSql } from '../../pipeline/adapters/questdb/sql.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { CONTENT_TYPE_ARROW } from '../../pipeline/contract/arrow.js';
import { startNats, stopNats } from '../../deploy/services/nats.js';
import { startQuestDb, stopQuestDb } from '../../deploy/services/questdb.js';
import { arrowBatch, usageStream, type UsageEvent } from '../fixtures/usage-stream.js';
import { ceiling } from './ceiling.js';
import { measureKeyMemoryApart } from './memory.js';

const memoryScript = fileURLToPath(new URL('./memory.js', import.meta.url));
const checkpointScript = fileURLToPath(new URL('./checkpoint.js', import.meta.url));
import { benchGateway } from './gateway.js';
import { checkpointFigures, SCALE_OUT_RUNS, skewOf } from './scaleout.js';
import { partitionOf } from '../../operators/partition.js';
import { PartitionStore } from '../../pipeline/adapters/nats/partition-store.js';
import { DDL } from '../../pipeline/adapters/questdb/tables.js';
import { benchRulesInProcess, RULES_BOUNDARY, rulesWorkload } from './rules.js';

const opts = new Command()
  .option('--json <file>', 'write the results as JSON')
  .option('--markdown <file>', 'write the results as a Markdown table (e.g. docs/benchmark.md)')
  .option('--readme <file>', 'write the results into the README between its bench markers')
  .option('--compare <file>', "a previous run's --json, shown beside this run's figures")
  .option('--compare-label <text>', 'the heading of that column', 'before')
  .option('--history <n>', 'history events', (v) => Number(v), 1_000_000)
  .option('--live <n>', 'events per live phase', (v) => Number(v), 300_000)
  .option(
    '--phases <list>',
    'figures (history among them), history, gateway, rules, scaleout, memory (comma-separated)',
    'figures,gateway,rules,scaleout,memory',
  )
  .option(
    '--scaleout-history <n>',
    'history events of the scale-out phase',
    (v) => Number(v),
    300_000,
  )
  .option(
    '--gateway-requests <n>',
    'single-event requests of the gateway phase',
    (v) => Number(v),
    30_000,
  )
  .option('--rules-clients <n>', 'clients of the rules phases', (v) => Number(v), 100_000)
  .parse()
  .opts<{
    json?: string;
    markdown?: string;
    readme?: string;
    compare?: string;
    compareLabel: string;
    history: number;
    live: number;
    phases: string;
    rulesClients: number;
    gatewayRequests: number;
    scaleoutHistory: number;
  }>();
const phases = new Set(opts.phases.split(','));

const PORTS = {
  nats: 34222,
  natsMonitor: 38222,
  http: 39000,
  pg: 38812,
  ilp: 39009,
  health: 39003,
  metrics: 39464,
};
const dir = join(tmpdir(), 'pulso-bench-services');
const env: Record<string, string> = {
  NATS_URL: `nats://127.0.0.1:${PORTS.nats}`,
  PULSO_QUESTDB__HTTP_PORT: String(PORTS.http),
  PULSO_QUESTDB__PG_PORT: String(PORTS.pg),
  PULSO_SERVICES__QUESTDB: 'external',
  // The credentials the bench's services generate are found there.
  PULSO_SERVICES__DATA_DIR: dir,
  PULSO_METRICS__PORT: '0',
  PULSO_LOG__STATS_INTERVAL_SECONDS: '0',
  PULSO_CHECKPOINT__DIR: join(dir, 'checkpoints'),
  PULSO_INGEST__STORE_RAW_EVENTS: 'false',
  PULSO_INGEST__BATCH_SIZE: '5000',
  PULSO_LOG__LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  // Any other PULSO_* setting of the bench's own environment applies (a partition count…).
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('PULSO_') && e[1] !== undefined,
    ),
  ),
};
let config = loadConfig({ env });
const STREAM = config.nats.trackingStream.name;

interface Result {
  name: string;
  value: number;
  unit: string;
  ceiling: number | null;
  budget?: string;
}
const results: Result[] = [];
const record = (r: Result) => {
  results.push(r);
  // Written after every figure, so a run that fails midway still leaves what it measured.
  if (opts.json)
    writeFileSync(
      opts.json,
      `${JSON.stringify(
        results.map(({ name, value, unit, ceiling }) => ({ name, value, unit, ceiling })),
        null,
        2,
      )}\n`,
    );
  if (opts.markdown) writeMarkdown(opts.markdown);
  if (opts.readme) writeReadme(opts.readme);
  const ratio = r.ceiling
    ? ` (${((100 * r.value) / r.ceiling).toFixed(0)}% of ceiling ${fmt(r.ceiling)})`
    : '';
  const budget = r.budget ? `  [budget ${r.budget}]` : '';
  console.log(`  ${r.name.padEnd(44)} ${fmt(r.value).padStart(12)} ${r.unit}${ratio}${budget}`);
};
const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(3));

/** The figures so far as Markdown lines: the run, then one table row per figure. */
function markdownTable(): string[] {
  const base = new Map<string, number>();
  if (opts.compare)
    for (const r of JSON.parse(readFileSync(opts.compare, 'utf8')) as Result[])
      base.set(r.name, r.value);
  const cpus = os.cpus();
  const head = [
    `Written by \`npm run bench\` (${process.argv.slice(2).join(' ') || 'defaults'}) on`,
    `${new Date().toISOString().slice(0, 10)}: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'},`,
    `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; the pipeline, NATS, QuestDB and`,
    'the bench share these cores. Each ceiling is measured in the same run.',
    '',
    `| figure | value | unit | ceiling (same run) | budget |${opts.compare ? ` ${opts.compareLabel} |` : ''}`,
    `| --- | --- | --- | --- | --- |${opts.compare ? ' --- |' : ''}`,
  ];
  const rows = results.map((r) => {
    const ceil = r.ceiling
      ? `${fmt(r.ceiling)} (${((100 * r.value) / r.ceiling).toFixed(0)} %)`
      : '—';
    const was = base.get(r.name);
    const before = opts.compare ? ` ${was === undefined ? '—' : fmt(was)} |` : '';
    return `| ${r.name} | ${fmt(r.value)} | ${r.unit} | ${ceil} | ${r.budget ?? ''} |${before}`;
  });
  return [...head, ...rows];
}

function writeMarkdown(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${['# Benchmark figures', '', ...markdownTable()].join('\n')}\n`);
}

/** `--readme`: the table replaces what stands between the README's bench markers. */
const README_BEGIN = '<!-- bench:begin (written by npm run bench -- --readme README.md) -->';
const README_END = '<!-- bench:end -->';

function readmeParts(file: string): [string, string] {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(README_BEGIN);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`${file}: no "${README_BEGIN}" … "${README_END}" section`);
  return [text.slice(0, a + README_BEGIN.length), text.slice(b)];
}

function writeReadme(file: string): void {
  const [before, after] = readmeParts(file);
  writeFileSync(file, `${before}\n\n${markdownTable().join('\n')}\n\n${after}`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Pipeline {
  /** The newest pipeline process, whose logs explain a failure to catch up. */
  static current: Pipeline | undefined;
  /** Every pipeline started, so that an interrupted run kills them all. */
  static readonly all = new Set<Pipeline>();
  child: ChildProcess;
  logs = '';
  constructor(extra: Record<string, string> = {}) {
    Pipeline.current = this;
    Pipeline.all.add(this);
    this.child = spawn(
      process.execPath,
      [
        // BENCH_PROFILE=<dir>: a V8 CPU profile of every pipeline process, written at its exit.
        ...(process.env.BENCH_PROFILE
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
          : []),
        join(process.cwd(), 'dist/pipeline/cli/main.js'),
        'run',
      ],
      {
        env: { ...process.env, ...env, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer) => {
      this.logs = (this.logs + d.toString()).slice(-6_000);
      if (process.env.BENCH_LOG_FILE) appendFileSync(process.env.BENCH_LOG_FILE, d);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }
  async running(): Promise<void> {
    while (!this.logs.includes('pipeline running')) {
      if (this.child.exitCode !== null) throw new Error(`pipeline exited:\n${this.logs}`);
      await sleep(20);
    }
  }
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    } catch {
      return 0;
    }
  }
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    // Ended already — by an exit, or by a signal (then exitCode stays null): nothing to wait for.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((r) => {
      this.child.once('exit', () => r());
      this.child.kill(signal);
    });
  }
}

/** The bench's connections, one per role it plays. */
interface Bus {
  admin: NatsConnection;
  publisher: NatsConnection;
  /** Clock ticks only the pipeline may publish. */
  pipeline: NatsConnection;
  reader: NatsConnection;
}

async function lastSeq(bus: Bus): Promise<number> {
  return (await (await bus.admin.jetstreamManager()).streams.info(STREAM)).state.last_seq;
}

/**
 * Waits until QuestDB shows the whole stream written by every partition; gives up after
 * 120 s without progress.
 */
async function caughtUp(
  bus: Bus,
  sql: QuestSql,
  partitions = config.partitions.count,
): Promise<void> {
  const last = await lastSeq(bus);
  let seen = -1;
  let since = Date.now();
  for (;;) {
    const [row] = await sql
      .query<{ max: number }>(
        `SELECT CASE WHEN count() = ${partitions} THEN min(w) ELSE 0 END max FROM (SELECT partition_no, max(written_seq) w FROM ingest_progress GROUP BY partition_no)`,
      )
      .catch(() => [{ max: 0 }]);
    const seq = Number(row?.max ?? 0);
    if (seq >= last) return;
    if (seq !== seen) [seen, since] = [seq, Date.now()];
    const p = Pipeline.current;
    if (Date.now() - since > 120_000 || (p && p.child.exitCode !== null))
      throw new Error(`pipeline stuck at ${seq} of ${last}:\n${p?.logs ?? ''}`);
    await sleep(50);
  }
}

/** Publishes without waiting for each JetStream ack, then waits for the stream to hold them all. */
async function publish(
  bus: Bus,
  msgs: { subject: string; data: Uint8Array; ct?: string }[],
): Promise<void> {
  const target = (await lastSeq(bus)) + msgs.length;
  const events = bus.publisher.jetstream();
  const clock = bus.pipeline.jetstream();
  // In parts of at most 2,000 messages or 8 MB: a million events in batches is 300 MB,
  // which in flight at once outlasts the acknowledgements' timeout.
  for (let i = 0; i < msgs.length;) {
    const part: Promise<unknown>[] = [];
    for (let bytes = 0; i < msgs.length && part.length < 2000 && bytes < 8e6; i++) {
      const m = msgs[i]!;
      let h;
      if (m.ct) {
        h = headers();
        h.set('Content-Type', m.ct);
      }
      const js = m.subject === 'tracking.clock' ? clock : events;
      part.push(js.publish(m.subject, m.data, { timeout: 60_000, ...(h ? { headers: h } : {}) }));
      bytes += m.data.length;
    }
    await Promise.all(part);
  }
  while ((await lastSeq(bus)) < target) await sleep(10);
}

const enc = new TextEncoder();
const WORKLOAD = { clients: 10_000, users: 50_000, names: 30 };

function liveEvents(n: number, seed: number): UsageEvent[] {
  const now = Date.now();
  return usageStream({
    ...WORKLOAD,
    days: 0,
    events: n,
    start: now - 60_000,
    seed,
    jitterMs: 60_000,
  }).events;
}

/**
 * The pipeline's CPU per event, by stage, from its /metrics: the chain's measured stages
 * (pulso_stage_seconds_total), GC (nodejs_gc_duration_seconds_sum), and the rest of the
 * process's CPU (process_cpu_seconds_total minus those: writes, publishes, the NATS
 * client, the checkpoint writer threads).
 */
/** Rows the pipeline sent QuestDB in the history phase (its /metrics). */
let rowsSent = 0;

/** The services' processes, whose CPU time the history phase reports beside the pipeline's. */
const services = { nats: 0, questdb: 0 };

/** CPU seconds a process has used so far (all its threads), from /proc. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in 1/100 s
  } catch {
    return 0;
  }
}

/** CPU seconds used by the whole machine, every core, from /proc/stat. */
function machineCpuSeconds(): number {
  const [, ...t] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = t.map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

interface CpuMark {
  nats: number;
  questdb: number;
  machine: number;
  wall: number;
}

function cpuMark(): CpuMark {
  return {
    nats: cpuSecondsOf(services.nats),
    questdb: cpuSecondsOf(services.questdb),
    machine: machineCpuSeconds(),
    wall: performance.now() / 1000,
  };
}

async function stageBreakdown(events: number, since: CpuMark): Promise<Record<string, number>> {
  const now = cpuMark();
  const text = await (await fetch(`http://127.0.0.1:${PORTS.metrics}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const us = (seconds: number) => (seconds * 1e6) / events;
  const out: Record<string, number> = {};
  let measured = 0;
  for (const m of text.matchAll(/^pulso_stage_seconds_total\{stage="(\w+)"\} ([\d.e+-]+)$/gm)) {
    out[m[1]!] = us(Number(m[2]));
    measured += Number(m[2]);
  }
  let gc = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum(?:\{[^}]*\})? ([\d.e+-]+)$/gm))
    gc += Number(m[1]);
  const cpu = value(/^process_cpu_seconds_total ([\d.e+-]+)$/m);
  out.gc = us(gc);
  out['writes, publishes, NATS client, other threads'] = us(Math.max(0, cpu - measured - gc));
  out['pipeline process total'] = us(cpu);
  rowsSent = value(/^pulso_questdb_rows_written_total ([\d.e+-]+)$/m);
  // The services it drives, on the same cores: what a row and a message cost them.
  out['QuestDB server (all its threads)'] = us(now.questdb - since.questdb);
  out['NATS server'] = us(now.nats - since.nats);
  out[`machine, all ${os.cpus().length} cores`] = us(now.machine - since.machine);
  return out;
}

/** The latency phase's poller, stopped before the pool it queries is closed. */
let polling: Promise<void> | undefined;
let stopPolling = false;

async function main(): Promise<void> {
  console.log(`Pulso benchmark — ${new Date().toISOString()}, Node ${process.version}`);
  // A README without the markers is refused now, not after the run.
  if (opts.readme) readmeParts(opts.readme);
  // Services left behind by an interrupted run are found in the fixed folder and stopped.
  await stopQuestDb(dir).catch(() => undefined);
  await stopNats(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  services.nats = (
    await startNats({
      url: env.NATS_URL!,
      monitorPort: PORTS.natsMonitor,
      dataDir: dir,
      install: true,
      bind: '127.0.0.1',
      streams: streamNamesOf(config.nats),
    })
  ).pid!;
  services.questdb = (
    await startQuestDb({
      host: '127.0.0.1',
      bind: '127.0.0.1',
      httpPort: PORTS.http,
      pgPort: PORTS.pg,
      ilpPort: PORTS.ilp,
      healthPort: PORTS.health,
      heapMb: 2048,
      version: config.services.questdbVersion,
      dataDir: dir,
      install: true,
    })
  ).pid!;
  // Read again: the services generated their credentials.
  config = loadConfig({ env });
  const nc: Bus = {
    admin: await connectAs(config, 'admin'),
    publisher: await connectAs(config, 'publisher'),
    pipeline: await connectAs(config, 'pipeline'),
    reader: await connectAs(config, 'reader'),
  };
  const sql = new QuestSql(config.questdb);
  await ensureStreams(await nc.admin.jetstreamManager(), config.nats);
  let pipeline: Pipeline | undefined;
  // Ctrl-C (or a kill) stops the pipeline and the services this run started, too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the pipelines, NATS and QuestDB`);
      shutdown(130).catch(() => process.exit(130));
    });
  try {
    if (phases.has('figures') || phases.has('history')) {
      // ---- history: 1M events over the 30 days before today, in JSON batches of 1,000 --------
      const todayStart = Date.UTC(
        new Date().getUTCFullYear(),
        new Date().getUTCMonth(),
        new Date().getUTCDate(),
      );
      const { events: history } = usageStream({
        ...WORKLOAD,
        days: 30,
        events: opts.history,
        start: todayStart - 30 * 86_400_000,
        seed: 1,
      });
      const batches = (evs: UsageEvent[], size: number, subject: string) =>
        Array.from({ length: Math.ceil(evs.length / size) }, (_, i) => ({
          subject,
          data: enc.encode(JSON.stringify(evs.slice(i * size, (i + 1) * size))),
        }));
      const historyFrom = (await lastSeq(nc)) + 1;
      await publish(nc, batches(history, 1000, 'tracking.events.history'));
      const h0 = performance.now();
      const cpu0 = cpuMark();
      // With /metrics on: its per-stage times give the CPU breakdown below.
      pipeline = new Pipeline({ PULSO_METRICS__PORT: String(PORTS.metrics) });
      await pipeline.running();
      const baseRss = pipeline.rss();
      await caughtUp(nc, sql);
      const historySeconds = (performance.now() - h0) / 1000;
      const stages = await stageBreakdown(opts.history, cpu0);
      // The same messages through the bare consumer: what reading and parsing them costs.
      const historyCeiling = await ceiling(
        nc.pipeline,
        STREAM,
        'tracking.events.history',
        historyFrom,
        opts.history,
        'json',
      );
      console.log('\nhistory (30 days, 30 midnights evaluated)');
      record({
        name: 'history replay, JSON batches, 30 midnights',
        value: opts.history / historySeconds,
        unit: 'events/s',
        ceiling: historyCeiling,
        budget: '≥ 15,000 (aim 48,000)',
      });
      console.log(
        '\nwhere the time goes (history replay, µs per event; event-loop time per stage)',
      );
      for (const [stage, us] of Object.entries(stages))
        record({ name: `CPU per event: ${stage}`, value: us, unit: 'µs', ceiling: null });
      record({
        name: 'CPU per event: the ceiling (bare consumer: read, parse, count)',
        value: 1e6 / historyCeiling,
        unit: 'µs',
        ceiling: null,
      });
      // Every ILP/HTTP request is a transaction of each table it touches: their number is
      // much of what QuestDB's time per row is.
      const [txns] = await sql.query<{ n: number }>('SELECT sum(sequencerTxn) n FROM wal_tables()');
      record({
        name: 'QuestDB transactions (all tables)',
        value: Number(txns!.n),
        unit: 'txns',
        ceiling: null,
      });
      record({ name: 'rows sent to QuestDB', value: rowsSent, unit: 'rows', ceiling: null });
      const [figRows] = await sql.query<{ n: number }>('SELECT count() n FROM rolling_figures');
      record({
        name: 'rolling figure rows written',
        value: Number(figRows!.n),
        unit: 'rows',
        ceiling: null,
      });

      // `--phases history`: the replay and its breakdown alone (a profile's quick loop).
      if (phases.has('figures')) {
        // ---- recovery: SIGKILL, a tail of 20,000 more events, restart ------------------------------
        await pipeline.stop('SIGKILL');
        await publish(
          nc,
          batches(
            liveEvents(20_000, 2).map((e) => ({ ...e, timestamp: todayStart - 1000 })),
            1000,
            'tracking.events.tail',
          ),
        );
        const r0 = performance.now();
        pipeline = new Pipeline();
        await caughtUp(nc, sql);
        const recovery = (performance.now() - r0) / 1000;
        console.log('\nrecovery');
        record({
          name: `recovery after SIGKILL, ${opts.history.toLocaleString('en')} events of history`,
          value: recovery,
          unit: 's',
          ceiling: historySeconds,
          budget: '≤ 10 s',
        });
        // One warm-up event at "now" passes today's midnight, so the live phases evaluate none.
        await publish(nc, [
          { subject: 'tracking.events', data: enc.encode(JSON.stringify(liveEvents(1, 3)[0])) },
        ]);
        await caughtUp(nc, sql);
        await pipeline.stop();

        // ---- single-event messages vs the ceiling --------------------------------------------------
        const live = async (
          name: string,
          msgs: { subject: string; data: Uint8Array; ct?: string }[],
          events: number,
          extra: Record<string, string> = {},
        ) => {
          await publish(nc, msgs);
          // Timed from "pipeline running" (state restored, reading starts): restoring is
          // measured by the recovery figure, as the ceiling's timer starts once it is set up.
          const p = new Pipeline(extra);
          await p.running();
          const t0 = performance.now();
          await caughtUp(nc, sql);
          const rate = events / ((performance.now() - t0) / 1000);
          pipeline = p;
          await p.stop();
          return rate;
        };
        /** A live phase and, over the same messages, the bare consumer: [rate, ceiling]. */
        const liveBeside = async (
          msgs: { subject: string; data: Uint8Array; ct?: string }[],
          events: number,
          decode: 'json' | 'arrow',
        ): Promise<[number, number]> => {
          const from = (await lastSeq(nc)) + 1;
          const rate = await live(msgs[0]!.subject, msgs, events);
          const top = await ceiling(nc.pipeline, STREAM, msgs[0]!.subject, from, events, decode);
          return [rate, top];
        };
        console.log('\nlive (events within the current day)');
        const singles = liveEvents(opts.live, 4).map((e) => ({
          subject: 'tracking.events.single',
          data: enc.encode(JSON.stringify(e)),
        }));
        const [singleRate, singleCeiling] = await liveBeside(singles, singles.length, 'json');
        record({
          name: 'one-event JSON messages, end to end',
          value: singleRate,
          unit: 'events/s',
          ceiling: singleCeiling,
          budget: '≥ 50% of ceiling (aim 70%)',
        });

        const arrowEvents = liveEvents(opts.live * 3, 5);
        const arrowMsgs = Array.from({ length: arrowEvents.length / 1000 }, (_, i) => ({
          subject: 'tracking.events.arrow',
          data: arrowBatch(arrowEvents.slice(i * 1000, (i + 1) * 1000)),
          ct: CONTENT_TYPE_ARROW,
        }));
        const [arrowRate, arrowCeiling] = await liveBeside(arrowMsgs, arrowEvents.length, 'arrow');
        record({
          name: 'Arrow IPC batches of 1,000, end to end',
          value: arrowRate,
          unit: 'events/s',
          ceiling: arrowCeiling,
          budget: '≥ 500,000 or ≥ 50% of ceiling',
        });

        const jsonEvents = liveEvents(opts.live * 3, 6);
        const jsonMsgs = batches(jsonEvents, 1000, 'tracking.events.json');
        const [jsonRate, jsonCeiling] = await liveBeside(jsonMsgs, jsonEvents.length, 'json');
        record({
          name: 'JSON array batches of 1,000, end to end',
          value: jsonRate,
          unit: 'events/s',
          ceiling: jsonCeiling,
          budget: '≥ 250,000 or ≥ 50% of ceiling',
        });

        // ---- latency at half the sustained one-event rate -------------------------------------------
        pipeline = new Pipeline();
        await pipeline.running();
        await caughtUp(nc, sql);
        const rate = singleRate / 2;
        // Per event: its stream sequence → when it was sent and its client's partition. It is
        // visible once that partition's writes reach its sequence.
        const sent = new Map<number, { at: number; partition: number }>();
        const latencies: number[] = [];
        let publishing = true;
        const poller = (async () => {
          while (publishing || sent.size > 0) {
            const rows = await sql.query<{ p: string; w: number }>(
              'SELECT partition_no p, max(written_seq) w FROM ingest_progress GROUP BY partition_no',
            );
            const written = new Map(rows.map((r) => [Number(r.p), Number(r.w)]));
            const now = performance.now();
            for (const [seq, s] of sent)
              if ((written.get(s.partition) ?? 0) >= seq) {
                latencies.push(now - s.at);
                sent.delete(seq);
              }
            if (stopPolling) return;
            await sleep(10);
          }
        })();
        polling = poller;
        const js = nc.publisher.jetstream();
        const lat = liveEvents(Math.floor(rate * 10), 7);
        const start = performance.now();
        const pending: Promise<void>[] = [];
        for (let i = 0; i < lat.length; i++) {
          const due = start + (i / rate) * 1000;
          if (performance.now() < due) await sleep(due - performance.now());
          const t = performance.now();
          pending.push(
            js.publish('tracking.events.latency', enc.encode(JSON.stringify(lat[i]))).then(
              (ack) =>
                void sent.set(ack.seq, {
                  at: t,
                  partition: partitionOf(lat[i]!.client_id, config.partitions.count),
                }),
            ),
          );
        }
        await Promise.all(pending);
        publishing = false;
        await poller;
        latencies.sort((a, b) => a - b);
        const pct = (p: number) =>
          latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! /
          1000;
        console.log(
          `\nlatency at ${Math.round(rate).toLocaleString('en')} events/s (half the one-event rate), publish → visible in QuestDB`,
        );
        record({ name: 'latency p50', value: pct(50), unit: 's', ceiling: null });
        record({ name: 'latency p99', value: pct(99), unit: 's', ceiling: null, budget: '≤ 1 s' });
        await pipeline.stop();

        // ---- with raw-event storage on ----------------------------------------------------------------
        console.log('\nwith raw events stored');
        const rawSingles = liveEvents(opts.live / 3, 8).map((e) => ({
          subject: 'tracking.events.single',
          data: enc.encode(JSON.stringify(e)),
        }));
        const rawRate = await live('raw', rawSingles, rawSingles.length, {
          PULSO_INGEST__STORE_RAW_EVENTS: 'true',
        });
        record({
          name: 'one-event JSON messages, raw events stored',
          value: rawRate,
          unit: 'events/s',
          ceiling: singleCeiling,
        });
        const rawArrowEvents = liveEvents(opts.live, 9);
        const rawArrow = Array.from({ length: rawArrowEvents.length / 1000 }, (_, i) => ({
          subject: 'tracking.events.arrow',
          data: arrowBatch(rawArrowEvents.slice(i * 1000, (i + 1) * 1000)),
          ct: CONTENT_TYPE_ARROW,
        }));
        const rawArrowRate = await live('raw arrow', rawArrow, rawArrowEvents.length, {
          PULSO_INGEST__STORE_RAW_EVENTS: 'true',
        });
        record({
          name: 'Arrow batches, raw events stored',
          value: rawArrowRate,
          unit: 'events/s',
          ceiling: arrowCeiling,
        });
        void baseRss;
      }
      await pipeline.stop();
    }
    if (phases.has('gateway')) {
      console.log('\ngateway (HTTP → JetStream, autocannon, 64 connections; no pipeline running)');
      const g = await benchGateway(config, nc.publisher, opts.gatewayRequests);
      record({
        name: 'gateway: single-event Segment calls accepted',
        value: g.singleRate,
        unit: 'events/s',
        ceiling: g.ceiling,
        budget: '≥ 25% of ceiling',
      });
      record({
        name: 'gateway: single-event call latency p50',
        value: g.singleP50,
        unit: 'ms',
        ceiling: null,
      });
      record({
        name: 'gateway: single-event call latency p99',
        value: g.singleP99,
        unit: 'ms',
        ceiling: null,
      });
      record({
        name: 'gateway: 100-event batches accepted',
        value: g.batchRate,
        unit: 'events/s',
        ceiling: g.batchCeiling,
        budget: '≥ 50% of ceiling',
      });
      record({ name: 'gateway: batch latency p50', value: g.batchP50, unit: 'ms', ceiling: null });
      record({ name: 'gateway: batch latency p99', value: g.batchP99, unit: 'ms', ceiling: null });
    }
    if (phases.has('rules')) {
      await pipeline?.stop('SIGKILL');
      pipeline = undefined;
      await rulesPhases(nc, sql);
    }
    if (phases.has('scaleout')) {
      await pipeline?.stop('SIGKILL');
      pipeline = undefined;
      await scaleOutPhase(nc, sql);
    }
  } finally {
    // A phase that failed may leave its poller running: it ends before the pool does.
    stopPolling = true;
    await polling?.catch(() => undefined);
    await pipeline?.stop('SIGKILL');
    for (const c of Object.values(nc)) await c.close();
    await sql.close();
    await stopQuestDb(dir);
    await stopNats(dir);
  }

  if (!phases.has('memory')) return;
  console.log('\nmemory (operators alone, default windows, no per-user state)');
  const mem = measureKeyMemoryApart(WORKLOAD.clients, WORKLOAD.names, 30, 4);
  record({
    name: `RSS per active (client, event name) key, ${mem.keys.toLocaleString('en')} keys`,
    value: mem.bytesPerKey,
    unit: 'bytes',
    ceiling: null,
    budget: '≤ 300',
  });
  record({
    name: 'live heap + buffers per key',
    value: mem.liveBytesPerKey,
    unit: 'bytes',
    ceiling: null,
  });
  const perClient = measureKeyMemoryApart(100_000, 1, 30, 1);
  record({
    name: 'RSS per client (one event name, no users), 100,000 clients',
    value: perClient.bytesPerKey,
    unit: 'bytes',
    ceiling: null,
  });
  record({
    name: 'live heap + buffers per client',
    value: perClient.liveBytesPerKey,
    unit: 'bytes',
    ceiling: null,
  });
  const ids = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', memoryScript, 'ids', '1000000'], {
      encoding: 'utf8',
    }),
  ) as { bytesPerId: number };
  record({
    name: 'live bytes per remembered event id (1,000,000 ids)',
    value: ids.bytesPerId,
    unit: 'bytes',
    ceiling: null,
  });
  const stall = JSON.parse(
    execFileSync(
      process.execPath,
      [checkpointScript, String(WORKLOAD.clients), String(WORKLOAD.names)],
      {
        encoding: 'utf8',
      },
    ),
  ) as { keys: number; bytes: number; stallMs: number; totalMs: number };
  record({
    name: `longest event-loop stall during a checkpoint of ${stall.keys.toLocaleString('en')} keys (${Math.round(stall.bytes / 1e6)} MB, ${Math.round(stall.totalMs)} ms in all)`,
    value: stall.stallMs,
    unit: 'ms',
    ceiling: null,
    budget: '≤ 50',
  });
}

/**
 * 100,000 clients × the shipped playbooks at one midnight where all of them are due: the
 * rules stage alone (evaluations/s, next to one figure read per pair as its ceiling), then
 * the real pipeline from the tick that passes the midnight to the last alert on cs.alert.>.
 */
/** Everything derived from the stream forgotten (and, with `stream`, the stream too). */
async function resetDerived(bus: Bus, sql: QuestSql, stream: boolean): Promise<void> {
  const jsm = await bus.admin.jetstreamManager();
  const n = config.nats;
  for (const s of [
    ...(stream ? [n.trackingStream.name] : []),
    n.deadLetterStream.name,
    n.outputStream.name,
    `KV_${n.state.bucket}_partitions`,
    `OBJ_${n.state.bucket}_checkpoints`,
  ])
    await jsm.streams.delete(s).catch(() => undefined);
  await ensureStreams(jsm, n);
  for (const ddl of DDL) {
    const t = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(ddl)![1]!;
    await sql.query(`DROP TABLE IF EXISTS ${t}`);
  }
}

async function scaleOutPhase(bus: Bus, sql: QuestSql): Promise<void> {
  console.log(
    `\nscale-out (history replay, ${opts.scaleoutHistory.toLocaleString('en')} events, 30 days)`,
  );
  await resetDerived(bus, sql, true);
  const todayStart = Date.UTC(
    new Date().getUTCFullYear(),
    new Date().getUTCMonth(),
    new Date().getUTCDate(),
  );
  const { events } = usageStream({
    ...WORKLOAD,
    days: 30,
    events: opts.scaleoutHistory,
    start: todayStart - 30 * 86_400_000,
    seed: 5,
  });
  const msgs = [];
  for (let i = 0; i < events.length; i += 1000)
    msgs.push({
      subject: 'tracking.events.history',
      data: enc.encode(JSON.stringify(events.slice(i, i + 1000))),
    });
  await publish(bus, msgs);
  let single: number | null = null;
  for (const { name, run } of SCALE_OUT_RUNS) {
    await resetDerived(bus, sql, false);
    const t0 = performance.now();
    const workers = run.workers.map(
      (w, i) =>
        new Pipeline({
          ...w,
          PULSO_PARTITIONS__COUNT: String(run.partitions),
          PULSO_CHECKPOINT__DIR: join(dir, `scaleout-${run.partitions}-${i}`),
        }),
    );
    try {
      await caughtUp(bus, sql, run.partitions);
      const rate = events.length / ((performance.now() - t0) / 1000);
      record({
        name: `scale-out: ${name}`,
        value: rate,
        unit: 'events/s',
        ceiling: single,
      });
      single ??= rate;
      if (run.partitions > 1 && run.workers.length === 1) {
        // Each partition's checkpoint as the run left it (a last one is taken at the stop).
        for (const w of workers) await w.stop();
        const store = await PartitionStore.open(bus.admin, config.nats.state);
        const c = await checkpointFigures(store, run.partitions);
        record({
          name: 'scale-out: checkpoint per partition, mean',
          value: c.meanBytes,
          unit: 'bytes',
          ceiling: null,
        });
        record({
          name: 'scale-out: checkpoint per partition, largest',
          value: c.maxBytes,
          unit: 'bytes',
          ceiling: null,
        });
        record({
          name: 'scale-out: checkpoint save per partition, mean',
          value: c.meanMs,
          unit: 'ms',
          ceiling: null,
        });
        record({
          name: 'scale-out: checkpoint save per partition, slowest',
          value: c.maxMs,
          unit: 'ms',
          ceiling: null,
        });
      }
    } finally {
      for (const w of workers) await w.stop('SIGKILL');
    }
  }
  record({
    name: 'scale-out: partition skew (largest / mean events)',
    value: skewOf(events, 16),
    unit: '×',
    ceiling: null,
  });
}

async function rulesPhases(nc: Bus, sql: QuestSql): Promise<void> {
  const w = rulesWorkload(opts.rulesClients, 3);
  console.log(
    `\nrules (${opts.rulesClients.toLocaleString('en')} clients × the shipped playbooks, one midnight)`,
  );
  const r = benchRulesInProcess(w);
  record({
    name: `client-playbook evaluations, ${r.fired.toLocaleString('en')} of ${r.evaluations.toLocaleString('en')} fire`,
    value: r.evaluationsPerSecond,
    unit: 'evals/s',
    ceiling: r.ceilingPerSecond,
    budget: '≥ 1,000,000/s',
  });
  record({
    name: 'of which judging alone (firings built apart)',
    value: r.judgedPerSecond,
    unit: 'evals/s',
    ceiling: r.ceilingPerSecond,
  });
  record({
    name: `building the ${r.fired.toLocaleString('en')} firings (explained alerts, outputs)`,
    value: r.firingMs / 1000,
    unit: 's',
    ceiling: null,
  });
  record({
    name: 'midnight in the rules stage (health + playbooks)',
    value: r.boundaryMs / 1000,
    unit: 's',
    ceiling: null,
  });
  record({ name: 'outputs at that midnight', value: r.outputs, unit: 'messages', ceiling: null });

  // The same workload through the real pipeline, from fresh streams and tables.
  const jsm = await nc.admin.jetstreamManager();
  for (const s of [STREAM, config.nats.outputStream.name])
    await jsm.streams.delete(s).catch(() => undefined);
  for (const t of ['alerts', 'tasks', 'health_history', 'client_tags', 'ingest_progress'])
    await sql.query(`DROP TABLE IF EXISTS ${t}`);
  rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
  await ensureStreams(jsm, config.nats);
  await publish(
    nc,
    Array.from({ length: Math.ceil(w.clients.length / 1000) }, (_, i) => ({
      subject: 'tracking.clients',
      data: enc.encode(JSON.stringify(w.clients.slice(i * 1000, (i + 1) * 1000))),
    })),
  );
  await publish(
    nc,
    Array.from({ length: Math.ceil(w.events.length / 1000) }, (_, i) => ({
      subject: 'tracking.events',
      data: enc.encode(JSON.stringify(w.events.slice(i * 1000, (i + 1) * 1000))),
    })),
  );
  // Room for every client: limits.maxClients is split over the partitions, and a hash
  // never splits 100,000 clients into exact sixteenths.
  const pipeline = new Pipeline({ PULSO_LIMITS__MAX_CLIENTS: String(2 * w.clients.length) });
  try {
    await pipeline.running();
    await caughtUp(nc, sql);
    let alerts = 0;
    let lastAt = 0;
    const sub = nc.reader.subscribe('cs.alert.>', {
      callback: () => {
        alerts++;
        lastAt = performance.now();
      },
    });
    const t0 = performance.now();
    await publish(nc, [
      {
        subject: 'tracking.clock',
        data: enc.encode(
          JSON.stringify({ ts: RULES_BOUNDARY + config.windows.allowedLatenessSeconds * 1000 }),
        ),
      },
    ]);
    for (const deadline = Date.now() + 600_000; alerts < r.fired && Date.now() < deadline;) {
      // A pipeline that died is a failure now, with its last words, not a wait of minutes.
      if (pipeline.child.exitCode !== null || pipeline.child.signalCode !== null)
        throw new Error(`the pipeline ended after ${alerts} alerts:\n${pipeline.logs}`);
      if (alerts > 0 && performance.now() - lastAt > 60_000)
        throw new Error(`no alert for a minute after ${alerts}:\n${pipeline.logs}`);
      await sleep(50);
    }
    sub.unsubscribe();
    if (alerts !== r.fired) throw new Error(`${alerts} alerts on cs.alert.>, expected ${r.fired}`);
    record({
      name: `midnight → last of ${alerts.toLocaleString('en')} alerts published (pipeline)`,
      value: (lastAt - t0) / 1000,
      unit: 's',
      ceiling: null,
      budget: '≤ 20 s',
    });
  } finally {
    await pipeline.stop('SIGKILL');
  }
}

/** Whatever ends the run — its own failure or one thrown outside main — stops its services. */
async function failed(e: unknown): Promise<void> {
  console.error(e);
  await shutdown(1);
}

let stopping: Promise<never> | undefined;
/**
 * Kills every pipeline this run started, stops QuestDB and NATS, then exits — once, however
 * many signals and failures ask for it at the same time.
 */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const p of Pipeline.all) await p.stop('SIGKILL').catch(() => undefined);
    await stopQuestDb(dir).catch(() => undefined);
    await stopNats(dir).catch(() => undefined);
    process.exit(code);
  })();
  return stopping;
}
const failedOrExit = (e: unknown) => {
  failed(e).catch(() => process.exit(1));
};
process.on('uncaughtException', failedOrExit);
process.on('unhandledRejection', failedOrExit);
main().catch(failed);
