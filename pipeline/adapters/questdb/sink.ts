/**
 * Writes batches to QuestDB over ILP/HTTP and resolves only once QuestDB has accepted them:
 * the figure rows as ready-made line protocol, raw events and client attributes through
 * the QuestDB client.
 *
 * The client drops its buffered rows when a flush fails, so the batch is kept here and
 * encoded again for every attempt; while QuestDB is unavailable the sink waits and retries
 * (with a growing pause) for as long as it takes, saying so in the logs. Re-sending is safe
 * because every table de-duplicates on its keys.
 */
import { Sender } from '@questdb/nodejs-client';
import type { Config } from '../../config/types.js';
import type { ClientRow } from '../../contract/client-directory.js';
import type { TrackingEvent } from '../../../schemas/types.js';
import { QuestDbWriteError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { retry, withTimeout } from '../../retry.js';
import { CLIENT_ATTRIBUTES_TABLE, EVENTS_TABLE } from './tables.js';

export interface SinkBatch {
  events: TrackingEvent[];
  clients: ClientRow[];
  /** Figure rows as line protocol, in bodies of a bounded size (see figure-lines.ts). */
  figureBodies: string[];
  figureRows: number;
}

export interface SinkObserver {
  written(rows: number): void;
  failed(error: QuestDbWriteError): void;
}

export class QuestDbSink {
  private sender: Sender | undefined;
  private closed = false;

  constructor(
    private readonly c: Config['questdb'],
    private readonly storeRawEvents: boolean,
    private readonly log: Logger,
    private readonly observer?: SinkObserver,
  ) {}

  private get conf(): string {
    // The client's HTTP transport aborts every request after retry_timeout (not
    // request_timeout), so it must be at least as long; our own loop retries beyond it.
    const t = this.c.requestTimeoutMs;
    return `http::addr=${this.c.host}:${this.c.httpPort};username=${this.c.user};password=${this.c.password};auto_flush=off;request_timeout=${t};retry_timeout=${t};`;
  }

  private rowCount(b: SinkBatch): number {
    return (this.storeRawEvents ? b.events.length : 0) + b.clients.length + b.figureRows;
  }

  private async postLines(body: string): Promise<void> {
    const auth = Buffer.from(`${this.c.user}:${this.c.password}`).toString('base64');
    const res = await fetch(`http://${this.c.host}:${this.c.httpPort}/write?precision=n`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Basic ${auth}` },
      body,
      signal: AbortSignal.timeout(this.c.requestTimeoutMs),
    });
    if (res.status !== 204)
      throw new Error(`QuestDB /write answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  }

  async write(batch: SinkBatch): Promise<void> {
    const rows = this.rowCount(batch);
    if (rows === 0) return;
    const started = Date.now();
    await retry(
      async (attempt) => {
        try {
          if (batch.clients.length > 0 || (this.storeRawEvents && batch.events.length > 0)) {
            this.sender ??= await Sender.fromConfig(this.conf);
            await this.encode(this.sender, batch);
            // The client's flush can wait forever when QuestDB dies under a kept-alive
            // connection: past its deadline it counts as failed.
            const ms = 2 * this.c.requestTimeoutMs + 1000;
            await withTimeout(this.sender.flush(), ms, `no answer from QuestDB within ${ms} ms`);
          }
          // Figures last: their final line records progress, so it must follow everything.
          for (const body of batch.figureBodies) await this.postLines(body);
        } catch (cause) {
          const error = new QuestDbWriteError(rows, attempt, { cause });
          this.observer?.failed(error);
          await this.discardSender();
          throw error;
        }
        if (attempt > 1)
          this.log.info(
            { rows, attempts: attempt, waitedMs: Date.now() - started },
            'QuestDB accepted the held batch; writing resumes',
          );
      },
      {
        what: 'QuestDB write',
        attempts: Infinity,
        minDelayMs: 100,
        maxDelayMs: this.c.retryMaxDelayMs,
        stopped: () => this.closed,
        failed: (e, attempt, retryInMs) => {
          // The first attempts, then one in ten, so a long outage stays readable.
          if (attempt <= 5 || attempt % 10 === 0)
            this.log.warn(
              { rows, attempt, retryInMs, err: e.message },
              'QuestDB unavailable: holding the batch and retrying; nothing is checkpointed meanwhile',
            );
        },
      },
    );
    this.observer?.written(rows);
  }

  private async encode(s: Sender, b: SinkBatch): Promise<void> {
    if (this.storeRawEvents) {
      for (const e of b.events) {
        s.table(EVENTS_TABLE)
          .symbol('client_id', e.clientId)
          .symbol('kind', e.kind)
          .symbol('name', e.name)
          .symbol('subject', e.subject);
        s.stringColumn('event_id', e.eventId);
        if (e.userId !== null) s.stringColumn('user_id', e.userId);
        s.floatColumn('value', e.value);
        if (e.properties !== null) s.stringColumn('properties', e.properties);
        s.timestampColumn('received_at', e.receivedAt, 'ms').intColumn('stream_seq', e.streamSeq);
        await s.at(e.ts, 'ms');
      }
    }
    for (const r of b.clients) {
      s.table(CLIENT_ATTRIBUTES_TABLE).symbol('client_id', r.clientId);
      if (r.status !== null) s.symbol('status', r.status);
      if (r.plan !== null) s.symbol('plan', r.plan);
      if (r.segment !== null) s.symbol('segment', r.segment);
      if (r.csm !== null) s.symbol('csm', r.csm);
      s.stringColumn('update_id', r.updateId);
      if (r.name !== null) s.stringColumn('name', r.name);
      if (r.mrr !== null) s.floatColumn('mrr', r.mrr);
      s.stringColumn('attributes', r.attributes).stringColumn('stamps', r.stamps);
      await s.at(r.ts, 'ms');
    }
  }

  private async discardSender(): Promise<void> {
    const s = this.sender;
    this.sender = undefined;
    s?.reset();
    await s?.close().catch(() => undefined);
  }

  /** Stops retrying: a write still waiting for QuestDB fails instead of holding on. */
  async close(): Promise<void> {
    this.closed = true;
    await this.discardSender();
  }
}
