/**
 * What the next QuestDB write will carry: the figure rows of the batches processed since
 * the last write, raw events, client attributes and dead letters.
 *
 * Daily usage rows are the operators' live day cells, held once however many batches
 * touched them: the write sends their totals as of that moment. That is what makes
 * coalescing safe, and why the write's picture matches a checkpoint taken at the same time.
 */
import type { DailyUsageRow, UserDailyUsageRow } from '../operators/daily-usage.js';
import type { LastSeenRow } from '../operators/last-seen.js';
import type { MetricRow } from '../operators/metric-aggregates.js';
import type { RatioRow } from '../operators/ratios.js';
import type { RollingRow } from '../operators/rolling-counts.js';
import type { FigureBatch } from '../operators/usage-figures.js';
import type { SinkBatch } from './adapters/questdb/sink.js';
import { encodeRows } from './adapters/questdb/encode.js';
import type { DailyScore } from '../operators/playbooks/rules.js';
import type { Output } from '../operators/playbooks/outputs.js';
import type { ClientRow, UserRow } from './contract/client-directory.js';
import type { DeadLetter, TrackingEvent } from '../schemas/types.js';

export interface Write {
  sink: SinkBatch;
  deadLetters: DeadLetter[];
  /** The rules stage's outputs, in the order they were produced, to publish on NATS. */
  outputs: Output[];
  lastSeq: number;
}

export class Outbox {
  private usage = new Set<DailyUsageRow>();
  private userUsage = new Set<UserDailyUsageRow>();
  private rolling: RollingRow[][] = [];
  private ratios: RatioRow[][] = [];
  private lastSeen: LastSeenRow[][] = [];
  private metrics: MetricRow[][] = [];
  private events: TrackingEvent[] = [];
  private clients: ClientRow[] = [];
  private users: UserRow[] = [];
  private deadLetters: DeadLetter[] = [];
  private outputs: Output[] = [];
  private scores: DailyScore[] = [];
  private evaluated = 0;
  private messages = 0;
  private eventCount = 0;
  private tooLate = 0;
  private watermark = -Infinity;
  lastSeq = 0;
  /** Consumer lag after the last message added. */
  pending = 0;
  /** When the oldest unwritten batch was added (0: empty). */
  since = 0;

  constructor(
    private readonly storeRawEvents: boolean,
    /** The partition whose rows these are (its progress rows say so). */
    private readonly partition = 0,
  ) {}

  add(
    f: FigureBatch,
    messages: number,
    events: TrackingEvent[],
    clients: ClientRow[],
    deadLetters: DeadLetter[],
    outputs: Output[] = [],
    scores: DailyScore[] = [],
  ): void {
    for (const d of scores) this.scores.push(d);
    this.evaluated += scores.length;
    for (const o of outputs) this.outputs.push(o);
    this.evaluated += outputs.length;
    this.messages += messages;
    this.eventCount += events.length;
    this.tooLate += f.tooLate.length;
    this.watermark = f.watermark;
    for (const r of f.daily.usage) this.usage.add(r);
    for (const r of f.daily.userUsage) this.userUsage.add(r);
    this.rolling.push(f.rolling);
    this.ratios.push(f.ratios);
    this.lastSeen.push(f.lastSeen);
    this.metrics.push(f.metrics);
    this.evaluated += f.rolling.length + f.ratios.length + f.lastSeen.length + f.metrics.length;
    if (this.storeRawEvents) for (const e of events) this.events.push(e);
    for (const c of clients) this.clients.push(c);
    for (const d of deadLetters) this.deadLetters.push(d);
    this.lastSeq = f.lastSeq;
    if (this.since === 0) this.since = Date.now();
  }

  /** The user rows a slice's user updates wrote. */
  addUsers(rows: readonly UserRow[]): void {
    for (const r of rows) this.users.push(r);
  }

  /**
   * Outputs alone, ahead of the slice they come from (a midnight's many outputs are
   * written in parts): the stream position stays the one before that slice.
   */
  addOutputs(outputs: readonly Output[]): void {
    for (const o of outputs) this.outputs.push(o);
    this.evaluated += outputs.length;
    if (this.since === 0) this.since = Date.now();
  }

  /** Rows waiting, as a measure of how urgent a write is. */
  get rows(): number {
    return (
      this.usage.size +
      this.userUsage.size +
      this.evaluated +
      this.events.length +
      this.clients.length +
      this.users.length
    );
  }

  get empty(): boolean {
    return this.since === 0;
  }

  /** Encodes everything held (the QuestDB adapter's encoder) and starts afresh. */
  take(): Write {
    const sink = encodeRows({
      events: this.events,
      clients: this.clients,
      users: this.users,
      usage: this.usage,
      userUsage: this.userUsage,
      rolling: this.rolling,
      ratios: this.ratios,
      lastSeen: this.lastSeen,
      metrics: this.metrics,
      outputs: this.outputs,
      scores: this.scores,
      progress: {
        ts: Date.now(),
        partition: this.partition,
        writtenSeq: this.lastSeq,
        watermark: this.watermark,
        messages: this.messages,
        events: this.eventCount,
        deadLetters: this.deadLetters.length,
        tooLate: this.tooLate,
        pending: this.pending,
      },
    });
    const write: Write = {
      sink,
      deadLetters: this.deadLetters,
      outputs: this.outputs,
      lastSeq: this.lastSeq,
    };
    this.outputs = [];
    this.scores = [];
    this.usage = new Set();
    this.userUsage = new Set();
    this.rolling = [];
    this.ratios = [];
    this.lastSeen = [];
    this.metrics = [];
    this.events = [];
    this.clients = [];
    this.users = [];
    this.deadLetters = [];
    this.evaluated = 0;
    this.messages = 0;
    this.eventCount = 0;
    this.tooLate = 0;
    this.since = 0;
    return write;
  }
}
