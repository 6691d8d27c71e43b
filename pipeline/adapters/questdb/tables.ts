/**
 * The tables Pulso writes, created at start if absent. WAL, event time as the designated
 * timestamp, and DEDUP UPSERT KEYS so that a redelivery or a replay rewrites a row instead
 * of adding one.
 */
import type { QuestSql } from './sql.js';

export const EVENTS_TABLE = 'events';
export const CLIENT_ATTRIBUTES_TABLE = 'client_attributes';

export const DDL = [
  `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (
    ts TIMESTAMP,
    event_id VARCHAR,
    client_id SYMBOL CAPACITY 16384,
    kind SYMBOL CAPACITY 8,
    name SYMBOL CAPACITY 4096,
    user_id VARCHAR,
    value DOUBLE,
    properties VARCHAR,
    received_at TIMESTAMP,
    stream_seq LONG,
    subject SYMBOL CAPACITY 256
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, event_id)`,
  `CREATE TABLE IF NOT EXISTS ${CLIENT_ATTRIBUTES_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    update_id VARCHAR,
    status SYMBOL CAPACITY 16,
    name VARCHAR,
    plan SYMBOL CAPACITY 256,
    segment SYMBOL CAPACITY 256,
    csm SYMBOL CAPACITY 1024,
    mrr DOUBLE,
    attributes VARCHAR,
    stamps VARCHAR
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id)`,
];

export async function createTables(sql: QuestSql): Promise<void> {
  for (const ddl of DDL) await sql.query(ddl);
}
