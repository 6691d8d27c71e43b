/**
 * The pipeline's counters, kept in a Prometheus registry (prom-client) and readable in
 * process for the periodic stats log line and the tests.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** The chain's stages whose time is measured (pulso_stage_seconds_total). */
export type Stage = 'decode' | 'split' | 'figures' | 'rules' | 'encode' | 'checkpoint';

/** What one partition chain reports, read at each scrape. */
export interface PartitionGauges {
  partition: number;
  /** Tracking-stream sequence folded. */
  seq: number;
  /** Tracking-stream sequence whose effects are in QuestDB. */
  writtenSeq: number;
  checkpointSeq: number;
  /** Epoch ms of the last checkpoint saved in this run (null: none yet). */
  checkpointAt: number | null;
  /** Event time below which its windows are final (epoch ms; null before any event). */
  watermark: number | null;
  /** Tracking-stream messages after the last one folded. */
  lag: number;
  clients: number;
}

export class IngestMetrics {
  readonly registry = new Registry();
  private partitionView: (() => PartitionGauges[]) | undefined;

  /** The partitions this process runs: their gauges, and the totals over them. */
  watchPartitions(view: () => PartitionGauges[]): void {
    this.partitionView = view;
  }

  private perPartition(
    name: string,
    help: string,
    value: (p: PartitionGauges) => number | null,
  ): Gauge {
    const view = () => this.partitionView?.() ?? [];
    return new Gauge({
      name,
      help,
      labelNames: ['partition'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of view()) {
          const v = value(p);
          if (v !== null) this.set({ partition: String(p.partition) }, v);
        }
      },
    });
  }

  /**
   * Event-loop time per stage of the chain (decode, split, figures, rules, encode,
   * checkpoint picture): synchronous work, so its wall time is its CPU time on this thread.
   * The rest of the process's CPU (writes, publishes, the NATS client, other threads) is
   * process_cpu_seconds_total minus these; GC is nodejs_gc_duration_seconds.
   */
  readonly stageSeconds = this.counter(
    'pulso_stage_seconds_total',
    'Event-loop time spent in each stage of the chain',
    ['stage'],
  );

  /** Runs `f`, adding its time to `stage`. */
  timed<T>(stage: Stage, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.stageSeconds.inc({ stage }, (performance.now() - t0) / 1000);
    }
  }

  readonly partitionSeq = this.perPartition(
    'pulso_partition_stream_seq',
    'Tracking-stream sequence a partition has folded',
    (p) => p.seq,
  );
  readonly partitionLag = this.perPartition(
    'pulso_partition_lag_messages',
    'Tracking-stream messages after the last one a partition folded',
    (p) => p.lag,
  );
  readonly partitionWatermark = this.perPartition(
    'pulso_partition_watermark_seconds',
    "A partition's event time below which windows are final",
    (p) => (p.watermark === null ? null : p.watermark / 1000),
  );
  readonly partitionCheckpointSeq = this.perPartition(
    'pulso_partition_checkpoint_stream_seq',
    "Stream sequence of a partition's last checkpoint",
    (p) => p.checkpointSeq,
  );
  readonly partitionCheckpointAt = this.perPartition(
    'pulso_partition_checkpoint_timestamp_seconds',
    "When a partition's last checkpoint of this run was saved",
    (p) => (p.checkpointAt === null ? null : p.checkpointAt / 1000),
  );
  readonly partitionClients = this.perPartition(
    'pulso_partition_clients',
    'Clients a partition holds',
    (p) => p.clients,
  );

  constructor() {
    // Event-loop lag, RSS, heap and GC, as prom-client measures them.
    collectDefaultMetrics({ register: this.registry });
  }

  readonly accepted = this.counter('pulso_events_accepted_total', 'Valid tracking events written', [
    'kind',
  ]);
  readonly clientUpdates = this.counter(
    'pulso_client_updates_total',
    'Valid client attribute updates applied',
  );
  readonly invalid = this.counter('pulso_dead_letters_total', 'Inputs refused and dead-lettered', [
    'reason',
  ]);
  readonly messages = this.counter('pulso_messages_total', 'JetStream messages processed');
  readonly batches = this.counter('pulso_batches_total', 'Micro-batches processed');
  readonly rowsWritten = this.counter('pulso_questdb_rows_written_total', 'Rows QuestDB accepted');
  readonly writeFailures = this.counter(
    'pulso_questdb_write_failures_total',
    'Failed QuestDB write attempts (retried)',
  );
  readonly tooLate = this.counter(
    'pulso_events_too_late_total',
    'Events older than the watermark allowed: counted nowhere, dead-lettered as too_late',
  );
  readonly duplicates = this.counter(
    'pulso_events_duplicate_total',
    'Events whose (client, id) was already counted within the id horizon: counted once',
  );
  readonly clients = this.gauge(
    'pulso_state_clients',
    'Clients the state holds (bounded by limits.maxClients)',
    (ps) => ps.reduce((a, p) => a + p.clients, 0),
  );
  readonly idHorizon = this.gauge(
    'pulso_event_id_horizon_seconds',
    'How far back repeated event ids are recognized now (less than configured when ingest.idempotency.maxIds is reached)',
  );
  readonly evaluations = this.counter(
    'pulso_window_evaluations_total',
    'Midnights passed by the watermark (windows evaluated)',
  );
  readonly forgedOutputs = this.counter(
    'pulso_outputs_forged_total',
    'Messages on the output stream not signed by this pipeline: ignored, never delivered',
  );
  readonly webhooks = this.counter('pulso_webhook_calls_total', 'Webhook calls by outcome', [
    'outcome',
  ]);
  readonly emails = this.counter('pulso_emails_total', 'E-mails to clients by outcome', [
    'outcome',
  ]);
  readonly notifications = this.counter(
    'pulso_notifications_total',
    'CSM notifications to chat tools by outcome',
    ['outcome'],
  );
  readonly outputs = this.counter(
    'pulso_rules_outputs_published_total',
    'Alerts, health changes, tasks, tags, notifications, e-mails and webhook calls published on cs.>',
  );
  readonly playbookEvaluations = this.counter(
    'pulso_playbook_evaluations_total',
    'Client × playbook pairs judged by the rules stage',
  );
  readonly playbookFirings = this.counter(
    'pulso_playbook_firings_total',
    'Client × playbook pairs that fired',
  );
  readonly figureRows = this.counter(
    'pulso_figure_rows_written_total',
    'Figure rows QuestDB accepted',
  );
  readonly watermark = this.gauge(
    'pulso_watermark_seconds',
    'Event time below which windows are final (the lowest over the partitions)',
    (ps) => {
      const w = ps.map((p) => p.watermark).filter((x) => x !== null);
      return w.length === ps.length ? Math.min(...w) / 1000 : undefined;
    },
  );
  readonly writtenSeq = this.gauge(
    'pulso_written_stream_seq',
    'Stream sequence whose effects are in QuestDB (the lowest over the partitions)',
    (ps) => Math.min(...ps.map((p) => p.writtenSeq)),
  );
  readonly consumerLag = this.gauge(
    'pulso_consumer_lag_messages',
    'Messages in the tracking stream beyond the last one processed',
    (ps) => Math.max(...ps.map((p) => p.lag)),
  );
  readonly supervisorRestarts = this.gauge(
    'pulso_supervisor_restarts',
    'Times the supervisor (pulso up) restarted the pipeline before this run',
  );
  readonly supervisorLastExit = new Gauge({
    name: 'pulso_supervisor_last_exit',
    help: 'Why the run before this one ended (1 for its cause)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly checkpointFailures = this.counter(
    'pulso_checkpoint_failures_total',
    'Checkpoints that could not be saved (retried at the next interval)',
  );
  readonly checkpointSeq = this.gauge(
    'pulso_checkpoint_stream_seq',
    'Stream sequence of the last checkpoint (the lowest over the partitions)',
    (ps) => Math.min(...ps.map((p) => p.checkpointSeq)),
  );

  private gauge(
    name: string,
    help: string,
    total?: (ps: PartitionGauges[]) => number | undefined,
  ): Gauge {
    const view = () => this.partitionView?.();
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      ...(total
        ? {
            collect() {
              const ps = view();
              const v = ps && ps.length > 0 ? total(ps) : undefined;
              if (v !== undefined) this.set(v);
            },
          }
        : {}),
    });
  }

  private counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Plain totals, for logs and tests. */
  async snapshot(): Promise<{
    accepted: number;
    invalid: number;
    clientUpdates: number;
    messages: number;
    tooLate: number;
    byReason: Record<string, number>;
  }> {
    const sum = async (c: Counter) => (await c.get()).values.reduce((a, v) => a + v.value, 0);
    const byReason: Record<string, number> = {};
    for (const v of (await this.invalid.get()).values) byReason[String(v.labels.reason)] = v.value;
    return {
      accepted: await sum(this.accepted),
      invalid: await sum(this.invalid),
      clientUpdates: await sum(this.clientUpdates),
      messages: await sum(this.messages),
      tooLate: await sum(this.tooLate),
      byReason,
    };
  }
}
