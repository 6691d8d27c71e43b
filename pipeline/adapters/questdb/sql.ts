/**
 * SQL over QuestDB's PostgreSQL wire protocol (`pg`). QuestDB returns LONG as text and
 * timestamps without a zone: both are parsed here once, timestamps as UTC epoch ms.
 */
import pg from 'pg';
import type { Config } from '../../config/types.js';
import { ConfigError, ServiceError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { retry } from '../../retry.js';

const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const INT8 = 20;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP || oid === TIMESTAMPTZ)
      return (s: string) => Date.parse(`${s.replace(' ', 'T').slice(0, 23)}Z`);
    if (oid === INT8) return (s: string) => Number(s);
    return pg.types.getTypeParser(oid, format);
  },
};

export class QuestSql {
  private readonly pool: pg.Pool;

  constructor(c: Config['questdb']) {
    this.pool = new pg.Pool({
      host: c.host,
      port: c.pgPort,
      user: c.user,
      password: c.password,
      database: 'qdb',
      max: 2,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: c.requestTimeoutMs,
      types,
    });
    // An idle connection dropped by a QuestDB restart must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const r = await this.pool.query(sql, params);
    return r.rows as T[];
  }

  /** Waits until every WAL table has applied what it was sent (visible to queries). */
  async walApplied(timeoutMs = 30_000): Promise<void> {
    const every = 100;
    await retry(
      async () => {
        const rows = await this.query<{
          name: string;
          suspended: boolean;
          writerTxn: number;
          sequencerTxn: number;
        }>('SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables()');
        const suspended = rows.find((r) => r.suspended);
        if (suspended) throw new SuspendedTable(suspended.name);
        if (rows.some((r) => Number(r.writerTxn) < Number(r.sequencerTxn)))
          throw new Error('QuestDB WAL not applied in time');
      },
      {
        what: 'QuestDB WAL applied',
        attempts: Math.ceil(timeoutMs / every),
        minDelayMs: every,
        maxDelayMs: every,
        fatal: (e) => e instanceof SuspendedTable,
      },
    );
  }

  /**
   * At start QuestDB may still be coming up: waits (up to two minutes, saying so) rather
   * than fail. A refused login is not waited for: it is a configuration error, named as
   * such at once, with where the user and password came from (`origin`).
   */
  async ready(c: Config['questdb'], origin: string, log: Logger): Promise<void> {
    const address = `${c.host}:${c.pgPort}`;
    await retry(() => this.query('SELECT 1'), {
      what: `waiting for QuestDB at ${address}; connect`,
      attempts: 121,
      minDelayMs: 1000,
      maxDelayMs: 1000,
      fatal: isAuthFailure,
      failed: (e, attempt) => {
        if (attempt === 1 || attempt % 10 === 0)
          log.warn({ address, attempt, err: e.message }, 'waiting for QuestDB');
      },
    }).catch((e: unknown) => {
      if (isAuthFailure(e))
        throw new ConfigError(
          origin,
          '/questdb/user, /questdb/password',
          `a user and password QuestDB accepts at ${address} (it answered: ${(e as Error).message})`,
          c.user,
        );
      throw new ServiceError(
        'questdb',
        `not reachable at ${address} after 120 attempts`,
        {},
        { cause: e },
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class SuspendedTable extends Error {
  constructor(table: string) {
    super(`QuestDB table ${table} is suspended`);
  }
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
