/**
 * Starting and stopping the pipeline: connect, make sure streams and tables exist, restore
 * client state from QuestDB, then ingest until told to stop.
 */
import { connect, type NatsConnection } from 'nats';
import { join } from 'node:path';
import { Calendar } from '../operators/calendar.js';
import type { WindowSpec } from '../operators/types.js';
import { UsageState, type StateGuards } from '../operators/usage-figures.js';
import { CheckpointStore, settingsFingerprint } from './checkpoint.js';
import { serveOps, type Check } from './adapters/http/ops.js';
import { finalize, lastValueFrom, merge, Subject, tap } from 'rxjs';
import { ensureStreams } from './adapters/nats/streams.js';
import { startClock } from './adapters/nats/clock.js';
import { OutputPublisher } from './adapters/nats/outputs.js';
import { startWebhooks } from './adapters/webhooks.js';
import { RulesStage } from '../operators/playbooks/stage.js';
import { loadRules } from './config/playbooks.js';
import { QuestDbSink } from './adapters/questdb/sink.js';
import { QuestSql } from './adapters/questdb/sql.js';
import { CLIENT_ATTRIBUTES_TABLE, createTables } from './adapters/questdb/tables.js';
import type { Config } from './config/types.js';
import { originOf } from './config/load.js';
import { ClientDirectory, type ClientRow } from './contract/client-directory.js';
import type { Limits } from './contract/limits.js';
import { ConfigError, ServiceError, StreamMismatchError } from './errors.js';
import { CrashJournal } from './crash-journal.js';
import {
  HEADER_ROOM_BYTES,
  largestPayloadCap,
  type DeadLetterCaps,
} from './contract/dead-letter.js';
import { createIngest, type TestFault } from './ingest.js';
import type { Logger } from './log.js';
import { IngestMetrics } from './metrics.js';

export interface RunningPipeline {
  metrics: IngestMetrics;
  /** Settles when ingest ends (after stop(), or on a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export function limitsOf(c: Config): Limits {
  return {
    maxEventBytes: c.ingest.maxEventBytes,
    maxBatchEvents: c.ingest.maxBatchEvents,
    maxMessageBytes: c.nats.trackingStream.maxMessageBytes,
    maxFutureSkewMs: c.ingest.maxFutureSkewSeconds * 1000,
    maxDepth: c.ingest.maxDepth,
  };
}

export function guardsOf(c: Config): StateGuards {
  return {
    limits: c.limits,
    ids: {
      horizonMs: c.ingest.idempotency.horizonSeconds * 1000,
      maxIds: c.ingest.idempotency.maxIds,
    },
  };
}

export function windowSpecOf(c: Config): WindowSpec {
  return {
    calendar: new Calendar(c.windows.timeZone),
    days: [...c.windows.days].sort((a, b) => a - b),
    allowedLatenessMs: c.windows.allowedLatenessSeconds * 1000,
    ratios: c.windows.ratios,
  };
}

export async function startPipeline(config: Config, log: Logger): Promise<RunningPipeline> {
  // Before anything else: a checkpoint directory Pulso cannot write is refused now, not at
  // the first save minutes later.
  const stateDir = config.checkpoint.dir ?? join(config.services.dataDir, 'state');
  const checkpoints = new CheckpointStore(
    stateDir,
    settingsFingerprint(config),
    originOf(config, '/checkpoint/dir'),
  );
  await checkpoints.checkWritable();
  // Playbooks and the health model are refused before anything starts.
  const rulesFiles = loadRules(config);
  log.info(
    { playbooks: rulesFiles.playbooks.map((p) => p.id), health: rulesFiles.health.source },
    'playbooks and health model loaded',
  );
  const lost = new Subject<never>();
  const nc = await connectNats(config, log, lost);
  const deadLetterCaps = deadLetterCapsFor(config, nc.info?.max_payload ?? 1_048_576);
  const jsm = await nc.jetstreamManager();
  const ensured = await ensureStreams(jsm, config.nats);
  log.info({ ...ensured, stream: config.nats.trackingStream.name }, 'JetStream streams verified');

  const sql = new QuestSql(config.questdb);
  await waitForQuestDb(sql, config, log);
  await createTables(sql);

  const metrics = new IngestMetrics();
  const questdbState: Check = { ok: true, detail: 'no write yet' };
  const sink = new QuestDbSink(
    config.questdb,
    config.ingest.storeRawEvents,
    log.child({ stage: 'questdb' }),
    {
      written: (rows) => {
        metrics.rowsWritten.inc(rows);
        questdbState.ok = true;
        questdbState.detail = 'the last write was accepted';
      },
      failed: (e) => {
        metrics.writeFailures.inc();
        questdbState.ok = false;
        questdbState.detail = e.message;
      },
    },
  );
  const tracking = await jsm.streams.info(config.nats.trackingStream.name);
  const journal = new CrashJournal(stateDir, tracking.created);
  const start = journal.open();
  if (start.diedIn)
    log.warn(start.diedIn, 'the last run died while processing these stream sequences');
  if (start.poisoned)
    log.error(
      start.poisoned,
      'a message the pipeline died on twice is poison: it will be dead-lettered, not processed',
    );
  else if (start.suspect)
    log.warn(start.suspect, 'processing the messages of the last death one at a time');
  const restoredAt = Date.now();
  const saved = await checkpoints.load();
  // Client attributes as of the checkpoint; without one, as of the stream's first message
  // (the replay then applies the stream's own updates on top, in order).
  const directory = new ClientDirectory();
  if ('state' in saved && saved.clients) for (const row of saved.clients) directory.restore(row);
  else {
    // An empty stream replays nothing: every stored row is the state.
    const { state } = tracking;
    const before = state.messages > 0 ? Date.parse(state.first_ts) : Infinity;
    for (const row of await storedClients(sql, before)) directory.restore(row);
    log.info(
      { clients: directory.size, before: state.messages > 0 ? state.first_ts : 'all' },
      'client attributes restored from QuestDB',
    );
  }
  const usage = new UsageState(
    windowSpecOf(config),
    'state' in saved ? saved.state : undefined,
    guardsOf(config),
  );
  usage.seq = 'state' in saved ? saved.seq : 0;
  const rules = new RulesStage(
    usage,
    rulesFiles.playbooks,
    rulesFiles.health,
    (clientId, name) => attributeOf(directory, clientId, name),
    'state' in saved ? saved.rules : undefined,
    () => performance.now(),
  );
  const outputs = await OutputPublisher.open(nc.jetstream(), jsm, config.nats.outputStream.name);
  if ('state' in saved)
    log.info(
      { seq: saved.seq, file: checkpoints.file, ms: Date.now() - restoredAt },
      'operator state restored from checkpoint; reading the stream after it',
    );
  else
    log.info(
      { reason: saved.missing },
      'no usable checkpoint: figures are rebuilt from the whole stream',
    );

  const ingest = createIngest({
    js: nc.jetstream(),
    stream: config.nats.trackingStream.name,
    sink,
    directory,
    usage,
    checkpoints,
    afterSeq: usage.seq,
    metrics,
    log: log.child({ stage: 'ingest' }),
    limits: limitsOf(config),
    batchSize: config.ingest.batchSize,
    batchWaitMs: config.ingest.batchWaitMs,
    pullMessages: config.nats.consumer.pullMessages,
    pullBytes: config.nats.consumer.pullBytes,
    flushIntervalMs: config.ingest.flushIntervalMs,
    checkpointMs: config.checkpoint.intervalSeconds * 1000,
    allowedLatenessMs: config.windows.allowedLatenessSeconds * 1000,
    storeRawEvents: config.ingest.storeRawEvents,
    rules,
    outputs,
    deadLetterCaps,
    maxClients: config.limits.maxClients,
    journal,
    ...testFaultOf(process.env),
  });
  // Gauges as the restored state has them, before anything new is read.
  metrics.writtenSeq.set(usage.seq);
  metrics.checkpointSeq.set(usage.seq);
  if (Number.isFinite(usage.watermark.value)) metrics.watermark.set(usage.watermark.value / 1000);
  metrics.clients.set(usage.admission.clientCount);
  const restarts = Number(process.env.PULSO_SUPERVISOR_RESTARTS ?? 0);
  metrics.supervisorRestarts.set(Number.isFinite(restarts) ? restarts : 0);
  if (process.env.PULSO_SUPERVISOR_LAST_EXIT)
    metrics.supervisorLastExit.set(
      { cause: process.env.PULSO_SUPERVISOR_LAST_EXIT.slice(0, 200) },
      1,
    );
  const server =
    config.metrics.port > 0
      ? await serveOps(
          metrics.registry,
          readinessChecks(config, nc, questdbState, ingest),
          config.metrics.host,
          config.metrics.port,
        ).catch((cause: Error) => {
          throw new ConfigError(
            originOf(config, '/metrics/port'),
            '/metrics/port',
            `a port Pulso can listen on at ${config.metrics.host} (${cause.message}); or 0 to turn metrics off`,
            config.metrics.port,
          );
        })
      : undefined;
  if (server)
    log.info(
      {
        url: `http://${config.metrics.host}:${config.metrics.port}`,
        paths: ['/metrics', '/healthz', '/readyz'],
      },
      'operations endpoints',
    );
  const stopClock =
    config.rules.clockTickSeconds > 0
      ? startClock(
          nc.jetstream(),
          jsm,
          config.nats.trackingStream.name,
          config.rules.clockTickSeconds * 1000,
          () => ingest.processedSeq(),
          log.child({ stage: 'clock' }),
        )
      : undefined;
  const webhooks = config.rules.webhooks.enabled
    ? await startWebhooks(
        nc,
        config.nats.outputStream.name,
        config.rules.webhooks,
        process.env,
        log.child({ stage: 'webhooks' }),
        deadLetterCaps,
      )
    : undefined;

  const stats =
    config.log.statsIntervalSeconds > 0
      ? setInterval(() => {
          metrics.snapshot().then(
            (totals) => log.info(totals, 'ingest totals'),
            (e: unknown) => log.warn({ err: (e as Error).message }, 'ingest totals not read'),
          );
        }, config.log.statsIntervalSeconds * 1000)
      : undefined;
  log.info('pipeline running');
  const done = lastValueFrom(
    merge(ingest.results$.pipe(finalize(() => lost.complete())), lost).pipe(
      tap((r) => log.debug(r, 'written to QuestDB')),
    ),
    {
      defaultValue: undefined,
    },
  )
    .then(
      () => journal.close(),
      (e: unknown) => {
        journal.dying(e, isMessagesFault(e));
        throw e;
      },
    )
    .finally(async () => {
      if (stats) clearInterval(stats);
      stopClock?.();
      await webhooks?.stop();
      await sink.close();
      await checkpoints.close();
      await sql.close().catch(() => undefined);
      await server?.close();
      await nc.drain().catch(() => undefined);
    });

  return {
    metrics,
    done,
    async stop() {
      ingest.stop();
      // Batches already received get a while to finish; one held by a QuestDB outage is
      // then abandoned, and the next start reads it again after the last checkpoint.
      const drained = await Promise.race([
        done.then(
          () => true,
          () => true,
        ),
        sleep(STOP_GRACE_MS).then(() => false),
      ]);
      if (!drained) {
        log.warn(
          { graceMs: STOP_GRACE_MS },
          'stopping with a batch still unwritten; it will be redelivered',
        );
        await sink.close();
      }
      // Whatever is still stuck (a publish waiting for NATS) is abandoned: the checkpoint
      // only ever covers what was written, so the next start reads it again.
      await Promise.race([done.catch(() => undefined), sleep(5_000)]);
      log.info(await metrics.snapshot(), 'pipeline stopped');
    },
  };
}

/** Dead letters sized for this server's max payload; a cap that could not fit is refused. */
function deadLetterCapsFor(config: Config, serverMaxPayload: number): DeadLetterCaps {
  const largest = largestPayloadCap(serverMaxPayload);
  if (config.ingest.deadLetterPayloadBytes > largest)
    throw new ConfigError(
      originOf(config, '/ingest/deadLetterPayloadBytes'),
      '/ingest/deadLetterPayloadBytes',
      `at most ${largest} bytes for this NATS server (its max_payload is ${serverMaxPayload})`,
      config.ingest.deadLetterPayloadBytes,
    );
  return {
    payloadBytes: config.ingest.deadLetterPayloadBytes,
    maxBodyBytes: serverMaxPayload - HEADER_ROOM_BYTES,
  };
}

/**
 * A lost connection ends the run with an error rather than trusting the reading to resume:
 * the restart (by the supervisor, or by hand) resumes exactly from the last checkpoint.
 */
async function connectNats(
  config: Config,
  log: Logger,
  lost: Subject<never>,
): Promise<NatsConnection> {
  try {
    const nc = await connect({
      servers: config.nats.url,
      name: 'pulso-pipeline',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect')
          log.warn({ status: s.type, server: s.data }, 'NATS connection');
        if (s.type === 'disconnect')
          lost.error(
            new ServiceError(
              'nats',
              `connection to ${String(s.data)} lost; a restart resumes from the last checkpoint`,
              {},
            ),
          );
      }
    })().catch(() => undefined); // the status iterator ends when the connection closes
    return nc;
  } catch (cause) {
    throw new ServiceError(
      'nats',
      `cannot connect to ${config.nats.url} (is it running? \`pulso services up\` starts one)`,
      {},
      { cause },
    );
  }
}

/**
 * At start QuestDB may still be coming up: wait, saying so, rather than fail. A refused
 * login is not waited for: it is a configuration error, named as such at once.
 */
async function waitForQuestDb(sql: QuestSql, config: Config, log: Logger): Promise<void> {
  const address = `${config.questdb.host}:${config.questdb.pgPort}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await sql.query('SELECT 1');
      return;
    } catch (e) {
      if (isAuthFailure(e))
        throw new ConfigError(
          `${originOf(config, '/questdb/user')} / ${originOf(config, '/questdb/password')}`,
          '/questdb/user, /questdb/password',
          `a user and password QuestDB accepts at ${address} (it answered: ${(e as Error).message})`,
          config.questdb.user,
        );
      if (attempt > 120)
        throw new ServiceError(
          'questdb',
          `not reachable at ${address} after 120 attempts`,
          {},
          { cause: e },
        );
      if (attempt === 1 || attempt % 10 === 0)
        log.warn({ address, attempt, err: (e as Error).message }, 'waiting for QuestDB');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** What /readyz checks: NATS connected, QuestDB accepting writes, reading not stalled, lag. */
function readinessChecks(
  config: Config,
  nc: NatsConnection,
  questdb: Check,
  ingest: { processedSeq(): number; pending(): number },
): () => Record<string, Check> {
  let seenSeq = ingest.processedSeq();
  let progressAt = Date.now();
  return () => {
    const seq = ingest.processedSeq();
    const pending = ingest.pending();
    if (seq !== seenSeq || pending === 0) {
      seenSeq = seq;
      progressAt = Date.now();
    }
    const idleS = Math.round((Date.now() - progressAt) / 1000);
    return {
      nats: nc.isClosed()
        ? { ok: false, detail: 'connection closed' }
        : { ok: true, detail: `connected to ${nc.getServer()}` },
      questdb: questdb,
      reading: {
        ok: idleS < config.metrics.stallSeconds,
        detail: `at stream sequence ${seq}; ${pending} waiting; last progress ${idleS} s ago`,
      },
      lag: {
        ok: pending <= config.metrics.readyMaxLagMessages,
        detail: `${pending} messages behind (at most ${config.metrics.readyMaxLagMessages})`,
      },
    };
  };
}

/** Whether an error may be the messages' doing (a bug, a fault), not a service's or a setting's. */
export function isMessagesFault(e: unknown): boolean {
  return !(
    e instanceof ServiceError ||
    e instanceof ConfigError ||
    e instanceof StreamMismatchError
  );
}

/** Test-only fault injection: `PULSO_TEST_FAULT_CLIENT=<client id>`, `PULSO_TEST_FAULT_MODE=throw|kill`. */
function testFaultOf(env: NodeJS.ProcessEnv): { testFault?: TestFault } {
  const clientId = env.PULSO_TEST_FAULT_CLIENT;
  if (!clientId) return {};
  return { testFault: { clientId, mode: env.PULSO_TEST_FAULT_MODE === 'kill' ? 'kill' : 'throw' } };
}

/** QuestDB's answer to a wrong user or password on the PostgreSQL wire. */
function isAuthFailure(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err.code === '28P01' ||
    err.code === '28000' ||
    /invalid username\/password|password authentication failed/i.test(err.message ?? '')
  );
}

function attributeOf(
  directory: ClientDirectory,
  clientId: string,
  name: string,
): string | number | boolean | null | undefined {
  const c = directory.get(clientId);
  if (!c) return undefined;
  return (
    (c.fields as Map<string, { value: string | number | boolean | null }>).get(name)?.value ??
    c.attributes.get(name)?.value
  );
}

/** Each client's newest attribute row stored before `before` (epoch ms; Infinity: all). */
async function storedClients(sql: QuestSql, before: number): Promise<ClientRow[]> {
  // Our own ISO text, not input: safe to inline (QuestDB's pg binding of it is unreliable).
  const where = Number.isFinite(before) ? `WHERE ts < '${new Date(before).toISOString()}'` : '';
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM ${CLIENT_ATTRIBUTES_TABLE} ${where} LATEST ON ts PARTITION BY client_id`,
  );
  return rows.map(
    (r) =>
      ({
        ts: r.ts as number,
        clientId: r.client_id as string,
        updateId: r.update_id as string,
        status: (r.status as string | null) ?? null,
        name: (r.name as string | null) ?? null,
        plan: (r.plan as string | null) ?? null,
        segment: (r.segment as string | null) ?? null,
        csm: (r.csm as string | null) ?? null,
        mrr: (r.mrr as number | null) ?? null,
        attributes: (r.attributes as string | null) ?? '{}',
        stamps: (r.stamps as string | null) ?? '{}',
      }) satisfies ClientRow,
  );
}
