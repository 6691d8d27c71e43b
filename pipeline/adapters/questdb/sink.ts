/**
 * Writes batches to QuestDB over ILP/HTTP and resolves only once QuestDB has accepted them.
 * Every row comes ready-encoded (figure-lines.ts, output-lines.ts, row-lines.ts: by hand,
 * byte-equal to QuestDB's own client, several times faster): one transport, one timeout,
 * one retry loop. While QuestDB is unavailable the sink waits and retries (with a growing
 * pause) for as long as it takes, saying so in the logs. Re-sending is safe because every
 * table de-duplicates on its keys.
 */
import type { Config } from '../../config/types.js';
import { QuestDbWriteError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { retry } from '../../retry.js';

export interface SinkBatch {
  /** Line protocol (UTF-8) in bodies of a bounded size; the last line records progress. */
  bodies: Uint8Array[];
  /** Rows in all, and of them figure rows (with the progress row). */
  rows: number;
  figureRows: number;
}

export interface SinkObserver {
  written(rows: number): void;
  failed(error: QuestDbWriteError): void;
}

export class QuestDbSink {
  private closed = false;

  constructor(
    private readonly c: Config['questdb'],
    private readonly log: Logger,
    private readonly observer?: SinkObserver,
  ) {}

  /** Aborts the request in flight when the sink is closed. */
  private readonly abort = new AbortController();

  private async postLines(body: Uint8Array): Promise<void> {
    const auth = Buffer.from(`${this.c.user}:${this.c.password}`).toString('base64');
    const res = await fetch(`http://${this.c.host}:${this.c.httpPort}/write?precision=n`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Basic ${auth}` },
      body,
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.c.requestTimeoutMs)]),
    });
    if (res.status !== 204)
      throw new Error(`QuestDB /write answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  }

  async write(batch: SinkBatch): Promise<void> {
    const rows = batch.rows;
    if (rows === 0) return;
    const started = Date.now();
    await retry(
      async (attempt) => {
        try {
          for (const body of batch.bodies) await this.postLines(body);
        } catch (cause) {
          const error = new QuestDbWriteError(rows, attempt, { cause });
          this.observer?.failed(error);
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

  /** Stops retrying: a write still waiting for QuestDB fails instead of holding on. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('the sink is closed'));
    await Promise.resolve();
  }
}
