/**
 * What integration tests share: the configuration pointing at the test services, a clean
 * slate between tests, publishing, and waiting until the pipeline has caught up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { headers as natsHeaders, type NatsConnection } from 'nats';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { connectAs, type Role } from '../../pipeline/adapters/nats/connect.js';
import { QuestSql } from '../../pipeline/adapters/questdb/sql.js';
import { DDL } from '../../pipeline/adapters/questdb/tables.js';
import { loadConfig, type Config } from '../../pipeline/config/load.js';
import { TEST_PORTS } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pulsoDataDir: string;
  }
}

export function testEnv(): Record<string, string> {
  return {
    NATS_URL: `nats://127.0.0.1:${TEST_PORTS.nats}`,
    PULSO_QUESTDB__HTTP_PORT: String(TEST_PORTS.questdbHttp),
    PULSO_QUESTDB__PG_PORT: String(TEST_PORTS.questdbPg),
    PULSO_QUESTDB__RETRY_MAX_DELAY_MS: '1000',
    PULSO_SERVICES__QUESTDB: 'external',
    // Where the test services keep the credentials they generated (each role's nkey seed).
    PULSO_SERVICES__DATA_DIR: dataDir(),
    PULSO_METRICS__PORT: '0',
    PULSO_LOG__STATS_INTERVAL_SECONDS: '0',
    PULSO_LOG__LEVEL: 'info',
    PULSO_CHECKPOINT__DIR: checkpointDir(),
    // Test streams are history: a wall-clock tick would make the rest of them too late.
    PULSO_RULES__CLOCK_TICK_SECONDS: '0',
  };
}

/**
 * Whether some role may publish on the subject (producers: events and client updates; the
 * pipeline: ticks). Anything else under tracking.> is refused by NATS itself now; its
 * dead letter (unknown_subject) is the contract's unit tests' to check.
 */
export const publishable = (subject: string) =>
  PRODUCER_SUBJECT.test(subject) ||
  TASKS_SUBJECT.test(subject) ||
  subject === 'tracking.clock' ||
  subject.startsWith('cs.');

/** What the publisher role may publish; anything else a test publishes, the pipeline does. */
const PRODUCER_SUBJECT = /^tracking\.(events|clients|users)(\.|$)/;
/** What a CS tool (the reader role) says of tasks. */
const TASKS_SUBJECT = /^tracking\.tasks(\.|$)/;

export function checkpointDir(): string {
  return join(dataDir(), 'checkpoints');
}

export function testConfig(extraEnv: Record<string, string> = {}): Config {
  return loadConfig({ env: { ...testEnv(), ...extraEnv } });
}

export function dataDir(): string {
  return inject('pulsoDataDir');
}

export interface StoredMessage {
  subject: string;
  /** Its Nats-Msg-Id. */
  id: string;
  body: Record<string, unknown>;
}

export class World {
  readonly config: Config;

  /** `env`: settings over the test defaults (another NATS, more replicas…). */
  constructor(readonly env: Record<string, string> = {}) {
    this.config = testConfig(env);
  }

  /** As `admin`: streams made, deleted and read. */
  nc!: NatsConnection;
  /** As `publisher`: events and client updates. */
  publisherNc!: NatsConnection;
  /** As `pipeline`: what only Pulso may publish (clock ticks, outputs), for tests that play it. */
  pipelineNc!: NatsConnection;
  /** As `reader`: a CS tool, reading outputs and saying which tasks are done. */
  readerNc!: NatsConnection;
  sql!: QuestSql;
  private readonly enc = new TextEncoder();

  async open(): Promise<this> {
    this.nc = await this.connect('admin');
    this.publisherNc = await this.connect('publisher');
    this.pipelineNc = await this.connect('pipeline');
    this.readerNc = await this.connect('reader');
    this.sql = new QuestSql(this.config.questdb);
    return this;
  }

  /** Producers' subjects as a producer; anything else (ticks, outputs) as the pipeline. */
  connectionFor(subject: string): NatsConnection {
    if (TASKS_SUBJECT.test(subject)) return this.readerNc;
    return PRODUCER_SUBJECT.test(subject) ? this.publisherNc : this.pipelineNc;
  }

  /** A connection as one role, with the credentials the test services generated. */
  connect(role: Role): Promise<NatsConnection> {
    return connectAs(this.config, role, { name: `test-${role}` });
  }

  /**
   * Forgets every checkpoint (the Object Store's and the files): the next start rebuilds
   * from the whole stream. The output tails and the crash journal stay.
   */
  async forgetCheckpoints(): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await jsm.streams
      .delete(`OBJ_${this.config.nats.state.bucket}_checkpoints`)
      .catch(() => undefined);
    const files = await readdir(checkpointDir()).catch(() => [] as string[]);
    for (const f of files.filter((f) => f.endsWith('.ckpt')))
      await rm(join(checkpointDir(), f), { force: true });
  }

  /** Removes the streams and tables so the next pipeline starts from nothing. */
  async reset(): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    for (const s of [
      this.config.nats.trackingStream.name,
      this.config.nats.deadLetterStream.name,
      this.config.nats.outputStream.name,
      `KV_${this.config.nats.state.bucket}_partitions`,
      `OBJ_${this.config.nats.state.bucket}_checkpoints`,
      `KV_${this.config.nats.state.bucket}_deliveries`,
    ]) {
      await jsm.streams.delete(s).catch(() => undefined);
    }
    for (const ddl of DDL) {
      const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(ddl)![1]!;
      await this.sql.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await rm(checkpointDir(), { recursive: true, force: true });
  }

  async publish(
    subject: string,
    payload: string | Uint8Array | object,
    hdrs?: Record<string, string>,
  ): Promise<void> {
    const data =
      typeof payload === 'string'
        ? this.enc.encode(payload)
        : payload instanceof Uint8Array
          ? payload
          : this.enc.encode(JSON.stringify(payload));
    let h;
    if (hdrs) {
      h = natsHeaders();
      for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
    }
    await this.connectionFor(subject)
      .jetstream()
      .publish(subject, data, h ? { headers: h } : {});
  }

  /** Publishes many messages without waiting for each acknowledgement in turn. */
  async publishAll(
    messages: {
      subject: string;
      payload: string | Uint8Array | object;
      headers?: Record<string, string>;
    }[],
    window = 500,
  ): Promise<void> {
    for (let i = 0; i < messages.length; i += window) {
      await Promise.all(
        messages.slice(i, i + window).map((m) => this.publish(m.subject, m.payload, m.headers)),
      );
    }
  }

  /** Waits until QuestDB holds the effects of every message in the tracking stream. */
  async caughtUp(timeoutMs = 120_000, pipeline?: PipelineProcess): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    const last = (await jsm.streams.info(this.config.nats.trackingStream.name)).state.last_seq;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      await this.sql.walApplied();
      // Every partition (none of which has written yet: 0) as far as the stream's end.
      const written = await this.scalar(
        `SELECT CASE WHEN count() = ${this.config.partitions.count} THEN min(w) ELSE 0 END FROM (SELECT partition_no, max(written_seq) w FROM ingest_progress GROUP BY partition_no)`,
      ).catch((e: unknown) => {
        lastError = e;
        return 0;
      });
      if (written >= last) break;
      if (pipeline && pipeline.child.exitCode !== null)
        throw new Error(
          `pipeline exited (${pipeline.child.exitCode}):\n${pipeline.logs.slice(-4000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `pipeline did not catch up: written ${written} of ${last}${lastError ? ` (${String(lastError)})` : ''}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.sql.walApplied();
  }

  async scalar(sql: string): Promise<number> {
    const [row] = await this.sql.query<Record<string, unknown>>(sql);
    return Number(Object.values(row ?? {})[0]);
  }

  /** Every dead letter in its stream, parsed. */
  deadLetters(): Promise<StoredMessage[]> {
    return this.messagesOf(this.config.nats.deadLetterStream.name);
  }

  /** Every output of the rules stage (cs.>) in its stream, in order. */
  outputs(): Promise<StoredMessage[]> {
    return this.messagesOf(this.config.nats.outputStream.name);
  }

  /**
   * Every message of a stream, in stream order, read one by one by sequence (no consumer:
   * nothing to stall while a cluster re-elects its leaders).
   */
  private async messagesOf(stream: string): Promise<StoredMessage[]> {
    const jsm = await this.nc.jetstreamManager();
    const { state } = await jsm.streams.info(stream);
    const out: StoredMessage[] = [];
    if (state.messages === 0) return out;
    for (let from = state.first_seq; from <= state.last_seq; from += 256) {
      const seqs: number[] = [];
      for (let q = from; q < from + 256 && q <= state.last_seq; q++) seqs.push(q);
      const got = await Promise.all(
        seqs.map((seq) => jsm.streams.getMessage(stream, { seq }).catch(() => undefined)),
      );
      for (const m of got) {
        if (!m) continue; // deleted
        out.push({
          subject: m.subject,
          id: m.header?.get('Nats-Msg-Id') ?? '',
          body: JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>,
        });
      }
    }
    return out;
  }

  /** Closes the NATS connections (before the server is stopped under them). */
  async closeNats(): Promise<void> {
    for (const nc of [this.nc, this.publisherNc, this.pipelineNc, this.readerNc]) await nc.close();
  }

  async close(): Promise<void> {
    for (const nc of [this.nc, this.publisherNc, this.pipelineNc, this.readerNc]) await nc.drain();
    await this.sql.close();
  }
}

/** The real pipeline as its own process (`pulso run`), its logs collected. */
export class PipelineProcess {
  child!: ChildProcess;
  logs = '';

  start(extraEnv: Record<string, string> = {}): this {
    const cli = join(process.cwd(), 'dist', 'pipeline', 'cli', 'main.js');
    this.child = spawn(process.execPath, [cli, 'run'], {
      env: { ...process.env, ...testEnv(), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.logs += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.logs += d.toString()));
    return this;
  }

  async untilLog(text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.logs.includes(text)) {
      if (this.child.exitCode !== null)
        throw new Error(`pipeline exited (${this.child.exitCode}):\n${this.logs}`);
      if (Date.now() > deadline)
        throw new Error(`no "${text}" in the pipeline's logs:\n${this.logs.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
    });
  }
}

/**
 * For a describe block: a World opened once and reset before each test, and `start` for
 * pipeline processes, every one of which is killed after its test.
 */
export function pipelineWorld(): {
  world: World;
  start(env?: Record<string, string>): PipelineProcess;
} {
  const world = new World();
  const started: PipelineProcess[] = [];
  beforeAll(() => world.open());
  beforeEach(() => world.reset());
  afterEach(async () => {
    for (const p of started.splice(0)) await p.kill('SIGKILL');
  });
  afterAll(() => world.close());
  return {
    world,
    start(env = {}) {
      const p = new PipelineProcess().start(env);
      started.push(p);
      return p;
    },
  };
}
