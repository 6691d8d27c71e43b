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

interface Waiter {
  batch: SinkBatch;
  resolve(): void;
  reject(e: unknown): void;
}

/** Bodies of one request are joined up to this size (the encoder cuts at about as much). */
const REQUEST_BYTES = 8 * 1024 * 1024;

/** Consecutive bodies joined while they fit in one request, in order. */
function joined(bodies: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let size = 0;
  for (const b of bodies) {
    if (size > 0 && size + b.length > REQUEST_BYTES) {
      out.push(run.length === 1 ? run[0]! : Buffer.concat(run));
      run = [];
      size = 0;
    }
    run.push(b);
    size += b.length;
  }
  if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run));
  return out;
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

  /** Writes waiting for the request in flight to end; the next request carries them all. */
  private waiting: Waiter[] = [];
  private sending = false;
  private scheduled = false;

  /**
   * Resolves once QuestDB has accepted the batch. Writes that come while a request is in
   * flight (every partition of a worker shares this sink) go together in the next one:
   * QuestDB then merges one transaction per table instead of one per partition, which
   * measured a third of its time per event (and each batch's rows stay in order, its
   * progress row last).
   */
  write(batch: SinkBatch): Promise<void> {
    if (batch.rows === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      // Partitions cut at the same fetch's end: the writes of one turn of the loop go together.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.next();
        });
      }
    });
  }

  private next(): void {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    const group = this.waiting;
    this.waiting = [];
    this.send(group.map((w) => w.batch))
      .then(
        () => group.forEach((w) => w.resolve()),
        (e: unknown) => group.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        this.sending = false;
        this.next();
      });
  }

  private async send(batches: SinkBatch[]): Promise<void> {
    const rows = batches.reduce((n, b) => n + b.rows, 0);
    const bodies = joined(batches.flatMap((b) => b.bodies));
    const started = Date.now();
    await retry(
      async (attempt) => {
        try {
          for (const body of bodies) await this.postLines(body);
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
