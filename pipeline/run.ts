/**
 * Starting and stopping the pipeline: connect, make sure streams and tables exist, restore
 * client state from QuestDB, then ingest until told to stop.
 */
import type { NatsConnection, StreamInfo } from 'nats';
import { join } from 'node:path';
import { Calendar } from '../operators/calendar.js';
import type { WindowSpec } from '../operators/types.js';
import { UsageState, type StateGuards } from '../operators/usage-figures.js';
import { CheckpointStore, FileCheckpoints, settingsFingerprint } from './checkpoint.js';
import {
  NatsCheckpoints,
  PartitionStore,
  type PartitionClaim,
  type PartitionRecord,
} from './adapters/nats/partition-store.js';
import { partitionOf } from '../operators/partition.js';
import { hostname } from 'node:os';
import { serveOps, type Check } from './adapters/http/ops.js';
import { finalize, lastValueFrom, merge, tap } from 'rxjs';
import { ensureStreams } from './adapters/nats/streams.js';
import { startClock } from './adapters/nats/clock.js';
import { OutputPublisher, type OutputStreamReader } from './adapters/nats/outputs.js';
import { outputStreamReader } from './adapters/nats/output-reader.js';
import { AckedPublisher } from './adapters/nats/acked-publisher.js';
import { outputSigningKey, type OutputSigner } from './adapters/nats/output-signature.js';
import { startWebhooks } from './adapters/webhooks.js';
import { SendMarks, startEmailSender } from './adapters/delivery/email.js';
import { EmailTemplates } from './adapters/delivery/templates.js';
import { startNotifier } from './adapters/delivery/notify.js';
import { resolveRoutes } from './adapters/delivery/routes.js';
import { digestSenderOf, scheduleDigests, sendDigestOf } from './adapters/delivery/digest.js';
import type { Playbook } from '../operators/playbooks/playbook.js';
import { RulesStage } from '../operators/playbooks/stage.js';
import { installedPath, loadRules } from './config/playbooks.js';
import { QuestDbSink } from './adapters/questdb/sink.js';
import { QuestSql } from './adapters/questdb/sql.js';
import { createTables } from './adapters/questdb/tables.js';
import type { Config } from './config/types.js';
import { originOf } from './config/load.js';
import { ClientDirectory } from './contract/client-directory.js';
import type { Limits } from './contract/limits.js';
import { ConfigError, ServiceError, StreamMismatchError } from './errors.js';
import { CrashJournal } from './crash-journal.js';
import {
  HEADER_ROOM_BYTES,
  largestPayloadCap,
  type DeadLetterCaps,
} from './contract/dead-letter.js';
import { trackingChains, type PartitionParts, type TestFault } from './chain.js';
import { retry, withTimeout, type RetryPolicy } from './retry.js';
import { connectNats, inboxPrefixOf } from './adapters/nats/connect.js';
import { restoreClients } from './adapters/questdb/clients.js';
import type { Logger } from './log.js';
import { IngestMetrics } from './metrics.js';

export interface RunningPipeline {
  metrics: IngestMetrics;
  /** Settles when ingest ends (after stop(), or on a fatal error). */
  done: Promise<void>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 15_000;
/** How long a partition moved from a worker of another ordinal waits for it to let go. */
const HANDOVER_MS = 15_000;
/** How often the owners of this worker's partitions are read, besides the watch. */
const OWNER_RECHECK_MS = 2_000;

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

/** The partitions this worker owns: explicit, or those whose number mod count is its ordinal. */
export function ownedPartitions(config: Config): number[] {
  const n = config.partitions.count;
  const w = config.worker;
  if (w.partitions) {
    const bad = w.partitions.find((p) => p >= n);
    if (bad !== undefined)
      throw new ConfigError(
        originOf(config, '/worker/partitions'),
        '/worker/partitions',
        `partition numbers below partitions.count (${n})`,
        w.partitions,
      );
    return [...w.partitions].sort((a, b) => a - b);
  }
  if (w.ordinal >= w.count)
    throw new ConfigError(
      originOf(config, '/worker/ordinal'),
      '/worker/ordinal',
      `an ordinal below worker.count (${w.count})`,
      w.ordinal,
    );
  const owned = Array.from({ length: n }, (_, p) => p).filter((p) => p % w.count === w.ordinal);
  if (owned.length === 0)
    throw new ConfigError(
      originOf(config, '/worker/count'),
      '/worker/count',
      `at most partitions.count (${n}) workers, so that each owns a partition`,
      w.count,
    );
  return owned;
}

export async function startPipeline(config: Config, log: Logger): Promise<RunningPipeline> {
  const startedAt = Date.now();
  const owned = ownedPartitions(config);
  const workerId =
    config.worker.id ??
    `worker-${config.worker.partitions ? owned.join('+') : config.worker.ordinal}@${hostname()}:${process.pid}`;
  // Before anything else: a checkpoint directory Pulso cannot write is refused now, not at
  // the first save minutes later (the crash journal lives there whatever the store).
  const stateDir = config.checkpoint.dir ?? join(config.services.dataDir, 'state');
  await new FileCheckpoints(
    join(stateDir, 'usage.ckpt'),
    originOf(config, '/checkpoint/dir'),
  ).checkWritable();
  // Playbooks and the health model are refused before anything starts.
  const rulesFiles = loadRules(config);
  log.info(
    { playbooks: rulesFiles.playbooks.map((p) => p.id), health: rulesFiles.health.source },
    'playbooks and health model loaded',
  );
  const emailTemplates = emailTemplatesOf(config, rulesFiles.playbooks);
  // The CSMs' routes: for their notifications, and for their daily digests.
  const notifyRoutes =
    config.delivery.notify.enabled || config.delivery.digest.enabled
      ? resolveRoutes(config, process.env, originOf(config, '/delivery/notify/routes'))
      : undefined;
  const { nc, lost$ } = await connectNats(config, log);
  const deadLetterCaps = deadLetterCapsFor(config, nc.info?.max_payload ?? 1_048_576);
  const jsm = await nc.jetstreamManager();
  const ensured = await ensureStreams(jsm, config.nats);
  log.info({ ...ensured, stream: config.nats.trackingStream.name }, 'JetStream streams verified');
  // Creating replicated buckets takes a cluster a while (and workers start together).
  const NATS_START = {
    what: 'claim and restore a partition',
    attempts: 12,
    minDelayMs: 250,
    maxDelayMs: 5000,
    fatal: (e: Error) => e instanceof ConfigError,
    log,
  };
  const store = await retry(
    async () => {
      const s = await PartitionStore.open(nc, config.nats.state);
      await s.fixCount(config.partitions.count, originOf(config, '/partitions/count'));
      return s;
    },
    { ...NATS_START, what: 'open the partition state' },
  );

  const sql = new QuestSql(config.questdb);
  await sql.ready(
    config.questdb,
    `${originOf(config, '/questdb/user')} / ${originOf(config, '/questdb/password')}`,
    log,
  );
  await createTables(sql);

  const metrics = new IngestMetrics();
  const questdbState: Check = { ok: true, detail: 'no write yet' };
  const sink = new QuestDbSink(config.questdb, log.child({ stage: 'questdb' }), {
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
  });
  const tracking = await retry(() => jsm.streams.info(config.nats.trackingStream.name), {
    ...NATS_START,
    what: 'read the tracking stream',
  });
  const outputStream = await retry(() => jsm.streams.info(config.nats.outputStream.name), {
    ...NATS_START,
    what: 'read the output stream',
  });
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
  const signer = outputSigningKey(
    config.nats.outputStream.signingKeyFile,
    config.services.dataDir,
    originOf(config, '/nats/outputStream/signingKeyFile'),
  );
  const acks = new AckedPublisher(nc, inboxPrefixOf('pipeline'));
  const outputReader = outputStreamReader(nc.jetstream(), jsm, config.nats.outputStream.name);
  const restoredAt = Date.now();
  const parts: PartitionParts[] = [];
  const missing: string[] = [];
  const claims = new Map<number, PartitionClaim>();
  for (;;) {
    for (const [partition, claim] of await claimPartitions(
      owned,
      store,
      workerId,
      startedAt,
      log,
      NATS_START,
    )) {
      const opened = await retry(
        () =>
          openPartition(config, claim, {
            partition,
            workerId,
            store,
            sql,
            sink,
            signer,
            acks,
            outputReader,
            tracking,
            outputStream,
            stateDir,
            rulesFiles,
            log,
          }),
        NATS_START,
      );
      parts.push(opened.parts);
      claims.set(partition, claim);
      if (opened.missing) missing.push(opened.missing);
    }
    if (parts.length > 0) break;
    // Mid-rollout, later workers may hold them all: one of them lets go, or a restart of
    // this worker (then the later one) takes them.
    log.warn(
      { partitions: owned },
      'every partition of this worker is held by a worker started after it; waiting for one to be let go',
    );
    await new Promise((r) => setTimeout(r, OWNER_RECHECK_MS));
  }
  if (missing.length < parts.length)
    log.info(
      { partitions: parts.length - missing.length, ms: Date.now() - restoredAt },
      'operator state restored from checkpoint; reading the stream after it',
    );
  if (missing.length > 0)
    log.info(
      { partitions: missing.length, reason: missing[0] },
      'no usable checkpoint: figures are rebuilt from the whole stream',
    );
  log.info(
    {
      worker: workerId,
      partitions: parts.map((p) => p.partition),
      of: config.partitions.count,
      ms: Date.now() - restoredAt,
      seqs: parts.map((p) => p.usage.seq),
    },
    'partitions claimed and restored; reading the stream after the lowest checkpoint',
  );

  const ingest = trackingChains(
    {
      ingest: config.ingest,
      consumer: config.nats.consumer,
      stream: config.nats.trackingStream,
      windows: config.windows,
      checkpoint: config.checkpoint,
      limits: config.limits,
      contract: limitsOf(config),
    },
    {
      js: nc.jetstream(),
      count: config.partitions.count,
      journal,
      deadLetterCaps,
      metrics,
      log: log.child({ stage: 'ingest' }),
      ...testFaultOf(process.env),
    },
    parts,
  );
  const byPartition = new Map(parts.map((p) => [p.partition, p]));
  // Another worker claiming one of these partitions (N changed, a replacement started):
  // that chain ends now rather than at its next checkpoint.
  const claimed = (p: number, record: PartitionRecord) => {
    const mine = claims.get(p)?.current;
    if (mine && (record.worker !== mine.worker || record.claimedAt !== mine.claimedAt)) {
      claims.delete(p);
      // Once nothing of it is in flight, the new owner may write (it waits for this).
      void ingest
        .release(p, record.worker)
        .then(() => store.markReleased(p, mine))
        .catch(() => undefined);
    }
  };
  // Creating the watch has been seen to hang on a cluster: each attempt has a deadline.
  const unwatch = await retry(
    () => withTimeout(store.watchOwners(claimed), 10_000, 'watch the partition owners'),
    { ...NATS_START, what: 'watch the partition owners' },
  );
  // A watch can stall or end unnoticed on a cluster (a node lost): the owners are also read
  // every few seconds, so a claim is let go within that time even then.
  // A read that fails is said once a minute at most: silence here once hid a stalled worker.
  let recheckWarnedAt = 0;
  const recheck = setInterval(() => {
    for (const p of claims.keys())
      void withTimeout(store.record(p), OWNER_RECHECK_MS, `owner.${p}`)
        .then((r) => r && claimed(p, r.record))
        .catch((e: unknown) => {
          if (Date.now() - recheckWarnedAt < 60_000) return;
          recheckWarnedAt = Date.now();
          log.warn({ partition: p, err: (e as Error).message }, 'partition owner not read');
        });
  }, OWNER_RECHECK_MS);
  recheck.unref();
  metrics.watchPartitions(() =>
    ingest.partitions().map((r) => {
      const w = byPartition.get(r.partition)!.usage.watermark.value;
      return {
        partition: r.partition,
        seq: r.seq,
        writtenSeq: r.writtenSeq,
        checkpointSeq: r.checkpointSeq,
        checkpointAt: r.checkpointAt,
        watermark: Number.isFinite(w) ? w : null,
        lag: r.pending,
        clients: byPartition.get(r.partition)!.usage.admission.clientCount,
      };
    }),
  );
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
  // One clock and one webhook deliverer per deployment: the worker that owns partition 0.
  const first = claims.has(0);
  const stopClock =
    first && config.rules.clockTickSeconds > 0
      ? startClock(
          nc.jetstream(),
          jsm,
          config.nats.trackingStream.name,
          config.rules.clockTickSeconds * 1000,
          () => ingest.processedSeq(),
          log.child({ stage: 'clock' }),
        )
      : undefined;
  const webhooks =
    first && config.rules.webhooks.enabled
      ? await startWebhooks(nc, config.nats.outputStream.name, {
          settings: config.rules.webhooks,
          playbooks: rulesFiles.playbooks,
          signer,
          env: process.env,
          log: log.child({ stage: 'webhooks' }),
          caps: deadLetterCaps,
          metrics,
        })
      : undefined;

  const marks =
    first && (emailTemplates || notifyRoutes)
      ? await SendMarks.open(nc, config.nats.state, config.nats.outputStream.maxAgeDays)
      : undefined;
  const notifier =
    marks && notifyRoutes && config.delivery.notify.enabled
      ? await startNotifier(nc, config.nats.outputStream.name, {
          settings: config.delivery.notify,
          routes: notifyRoutes,
          policy: config.rules.webhooks,
          link: config.delivery.link,
          marks,
          signer,
          log: log.child({ stage: 'notify' }),
          caps: deadLetterCaps,
          metrics,
        })
      : undefined;
  const stopDigests =
    marks && notifyRoutes && config.delivery.digest.enabled
      ? scheduleDigests({
          at: config.delivery.digest.at,
          timeZone: config.windows.timeZone,
          log: log.child({ stage: 'digest' }),
          run: (day) =>
            sendDigestOf(
              day,
              config,
              sql,
              rulesFiles.health.thresholds,
              digestSenderOf(config, notifyRoutes, marks, log.child({ stage: 'digest' })),
            ).then(() => undefined),
        })
      : undefined;
  const emails =
    marks && emailTemplates
      ? await startEmailSender(nc, config.nats.outputStream.name, {
          settings: config.delivery.email,
          templates: emailTemplates,
          marks,
          signer,
          env: process.env,
          log: log.child({ stage: 'email' }),
          caps: deadLetterCaps,
          metrics,
        })
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
    merge(ingest.results$.pipe(finalize(() => lost$.complete())), lost$).pipe(
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
      unwatch();
      clearInterval(recheck);
      stopClock?.();
      await webhooks?.stop();
      await emails?.stop();
      await notifier?.stop();
      stopDigests?.();
      await sink.close();
      // Its writes are over: whoever claims these next need not wait for it.
      for (const [p, c] of claims)
        await withTimeout(store.markReleased(p, c.current), 2000, 'released').catch(
          () => undefined,
        );
      acks.close();
      for (const p of parts) await p.checkpoints.close();
      await sql.close().catch(() => undefined);
      await server?.close();
      await nc.drain().catch(() => undefined);
    });

  return {
    metrics,
    done,
    async stop() {
      // Partitions claimed by others since the last re-read are let go first: a final write
      // of theirs would land after the new owner's.
      await Promise.all(
        [...claims.keys()].map((p) =>
          withTimeout(store.record(p), 2000, `owner.${p}`)
            .then((r) => r && claimed(p, r.record))
            .catch(() => undefined),
        ),
      );
      ingest.stop();
      // Batches already received get a while to finish; one held by a QuestDB outage is
      // then abandoned, and the next start reads it again after the last checkpoint.
      const settled = done.then(
        () => true,
        () => true,
      );
      const drained = await withTimeout(settled, STOP_GRACE_MS, 'stop grace').catch(() => false);
      if (!drained) {
        log.warn(
          { graceMs: STOP_GRACE_MS },
          'stopping with a batch still unwritten; it will be redelivered',
        );
        await sink.close();
      }
      // Whatever is still stuck (a publish waiting for NATS) is abandoned: the checkpoint
      // only ever covers what was written, so the next start reads it again.
      await withTimeout(settled, 5_000, 'stop').catch(() => false);
      log.info(await metrics.snapshot(), 'pipeline stopped');
    },
  };
}

interface PartitionSetup {
  partition: number;
  workerId: string;
  store: PartitionStore;
  sql: QuestSql;
  sink: QuestDbSink;
  signer: OutputSigner;
  /** The worker's one publisher of outputs (all its partitions share its subscription). */
  acks: AckedPublisher;
  /** The output stream, read by the restart tail check. */
  outputReader: OutputStreamReader;
  tracking: StreamInfo;
  outputStream: StreamInfo;
  stateDir: string;
  rulesFiles: ReturnType<typeof loadRules>;
  log: Logger;
}

/**
 * Claims this worker's partitions (those a later-started worker holds are left to it), then
 * waits — for all of them at once, at most HANDOVER_MS — until each previous owner of
 * another ordinal (N changed) says it let go: its last writes must land before ours, or its
 * older rows could overwrite our newer ones. A dead owner never says so, hence the bound;
 * the same ordinal is a replacement, with no one left to wait for.
 */
async function claimPartitions(
  owned: number[],
  store: PartitionStore,
  workerId: string,
  startedAt: number,
  log: Logger,
  retrying: RetryPolicy,
): Promise<Map<number, PartitionClaim>> {
  const claims = new Map<number, PartitionClaim>();
  for (const partition of owned) {
    const claim = await retry(() => store.claim(partition, workerId, startedAt), retrying);
    if (claim) claims.set(partition, claim);
    else
      log.warn(
        { partition, holder: (await store.record(partition))?.record.worker },
        `partition ${partition} is held by a worker started after this one; left to it`,
      );
  }
  const ordinalOf = (w: string | undefined) => /^worker-(\d+)@/.exec(w ?? '')?.[1];
  const deadline = Date.now() + HANDOVER_MS;
  await Promise.all(
    [...claims].map(async ([partition, claim]) => {
      if (!claim.previous || ordinalOf(claim.previous.worker) === ordinalOf(workerId)) return;
      if (!(await store.waitReleased(partition, claim.previous, deadline)))
        log.warn(
          { partition, from: claim.previous.worker },
          'the previous owner did not say it let the partition go; taking it over',
        );
    }),
  );
  return claims;
}

/**
 * Restores one claimed partition: its checkpoint (or, without one, its clients'
 * attributes from QuestDB as of the stream's first message), its rules state, its output
 * tail.
 */
async function openPartition(
  config: Config,
  claim: PartitionClaim,
  o: PartitionSetup,
): Promise<{ parts: PartitionParts; missing?: string }> {
  const { partition, store } = o;
  const log = o.log.child({ partition });
  const checkpoints = new CheckpointStore(
    config.checkpoint.store === 'nats'
      ? new NatsCheckpoints(store, claim)
      : new FileCheckpoints(
          join(o.stateDir, `partition-${partition}.ckpt`),
          originOf(config, '/checkpoint/dir'),
        ),
    settingsFingerprint(config),
    originOf(config, '/checkpoint/dir'),
    `${o.tracking.config.name}@${o.tracking.created}`,
  );
  const saved = await checkpoints.load();
  const count = config.partitions.count;
  const directory = new ClientDirectory();
  if ('state' in saved && saved.clients) {
    for (const row of saved.clients) directory.restore(row);
    for (const row of saved.users ?? []) directory.users.restore(row);
  } else {
    // An empty stream replays nothing: every stored row is the state.
    const { state } = o.tracking;
    const before = state.messages > 0 ? Date.parse(state.first_ts) : Infinity;
    const clients = await restoreClients(
      o.sql,
      directory,
      before,
      (id) => partitionOf(id, count) === partition,
    );
    log.debug({ clients }, 'client attributes restored from QuestDB');
  }
  // limits.maxClients bounds the deployment: each partition holds its share of it.
  const guards = guardsOf(config);
  const max = config.limits.maxClients;
  guards.limits = {
    ...guards.limits,
    maxClients: Math.floor(max / count) + (partition < max % count ? 1 : 0),
  };
  const usage = new UsageState(
    windowSpecOf(config),
    'state' in saved ? saved.state : undefined,
    guards,
  );
  usage.seq = 'state' in saved ? saved.seq : 0;
  const rules = new RulesStage(
    usage,
    o.rulesFiles.playbooks,
    o.rulesFiles.health,
    (clientId, name) => attributeOf(directory, clientId, name),
    'state' in saved ? saved.rules : undefined,
    () => performance.now(),
  );
  const outputs = await OutputPublisher.open(
    o.acks,
    o.signer,
    { read: () => store.tail(partition), write: (t) => store.setTail(partition, t) },
    `${o.outputStream.config.name}@${o.outputStream.created}`,
    o.outputReader,
  );
  const parts = { partition, sink: o.sink, outputs, usage, rules, directory, checkpoints, log };
  if (!('state' in saved)) return { parts, missing: saved.missing };
  log.debug({ seq: saved.seq, at: checkpoints.file }, 'checkpoint restored');
  return { parts };
}

/** The e-mail templates, when e-mails are sent: loaded, and every playbook's found, at start. */
function emailTemplatesOf(
  config: Config,
  playbooks: readonly Playbook[],
): EmailTemplates | undefined {
  const c = config.delivery.email;
  if (!c.enabled) return undefined;
  const dir = installedPath(c.templates);
  const templates = EmailTemplates.load(
    dir,
    c.language,
    config.delivery.link,
    originOf(config, '/delivery/email/templates'),
  );
  templates.check(playbooks, dir);
  return templates;
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
