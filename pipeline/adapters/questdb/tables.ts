/**
 * The tables Pulso writes, created at start if absent. WAL, event time as the designated
 * timestamp, and DEDUP UPSERT KEYS so that a redelivery or a replay rewrites a row instead
 * of adding one.
 */
import type { QuestSql } from './sql.js';

export const EVENTS_TABLE = 'events';
export const CLIENT_ATTRIBUTES_TABLE = 'client_attributes';
export const USER_ATTRIBUTES_TABLE = 'user_attributes';
export const USAGE_DAILY_TABLE = 'usage_daily';
export const USER_USAGE_DAILY_TABLE = 'user_usage_daily';
export const ROLLING_TABLE = 'rolling_figures';
export const RATIOS_TABLE = 'ratios';
export const LAST_SEEN_TABLE = 'last_seen';
export const METRICS_TABLE = 'metric_figures';
export const PROGRESS_TABLE = 'ingest_progress';
export const ALERTS_TABLE = 'alerts';
export const TASKS_TABLE = 'tasks';
export const HEALTH_TABLE = 'health_history';
export const TAGS_TABLE = 'client_tags';
export const HEALTH_DAILY_TABLE = 'health_daily';
export const HEALTH_COMPONENTS_TABLE = 'health_components';

export const DDL = [
  // The rules stage's outputs, at their evaluation time (a local midnight), keyed by their
  // deterministic ids: a replay rewrites the same rows.
  `CREATE TABLE IF NOT EXISTS ${ALERTS_TABLE} (
    ts TIMESTAMP,
    alert_id VARCHAR,
    playbook SYMBOL CAPACITY 1024,
    category SYMBOL CAPACITY 256,
    title VARCHAR,
    client_id SYMBOL CAPACITY 16384,
    period VARCHAR,
    conditions VARCHAR,
    actions VARCHAR
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, alert_id)`,
  `CREATE TABLE IF NOT EXISTS ${TASKS_TABLE} (
    ts TIMESTAMP,
    task_id VARCHAR,
    alert_id VARCHAR,
    playbook SYMBOL CAPACITY 1024,
    client_id SYMBOL CAPACITY 16384,
    title VARCHAR,
    due_at TIMESTAMP,
    owner SYMBOL CAPACITY 1024,
    status SYMBOL CAPACITY 8,
    reason VARCHAR,
    closed_by VARCHAR
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, task_id, status)`,
  // Every change of a client's score, with its reason (a playbook, or the components).
  `CREATE TABLE IF NOT EXISTS ${HEALTH_TABLE} (
    ts TIMESTAMP,
    change_id VARCHAR,
    client_id SYMBOL CAPACITY 16384,
    score DOUBLE,
    band SYMBOL CAPACITY 4,
    before DOUBLE,
    change DOUBLE,
    source SYMBOL CAPACITY 1024,
    reason VARCHAR
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, change_id)`,
  // Every known client's score at every midnight: clients per band over time, by segment.
  `CREATE TABLE IF NOT EXISTS ${HEALTH_DAILY_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    score DOUBLE,
    band SYMBOL CAPACITY 4
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id)`,
  // Each component of a client's score when its value or points moved: why a score is what it is.
  `CREATE TABLE IF NOT EXISTS ${HEALTH_COMPONENTS_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    component SYMBOL CAPACITY 256,
    value DOUBLE,
    points DOUBLE,
    contribution DOUBLE
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, component)`,
  `CREATE TABLE IF NOT EXISTS ${TAGS_TABLE} (
    ts TIMESTAMP,
    tag_id VARCHAR,
    client_id SYMBOL CAPACITY 16384,
    tag SYMBOL CAPACITY 1024,
    op SYMBOL CAPACITY 2,
    playbook SYMBOL CAPACITY 1024
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, tag_id)`,
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
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, client_id, event_id)`,
  // Each user's complete state (client, traits) as of each update: LATEST ON ts PARTITION BY user_id.
  `CREATE TABLE IF NOT EXISTS ${USER_ATTRIBUTES_TABLE} (
    ts TIMESTAMP,
    user_id SYMBOL CAPACITY 262144 NOCACHE,
    client_id SYMBOL CAPACITY 16384,
    update_id VARCHAR,
    traits VARCHAR,
    stamps VARCHAR
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, user_id)`,
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
  // One row per local day (ts = its start) and key, rewritten while the day is open.
  `CREATE TABLE IF NOT EXISTS ${USAGE_DAILY_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    kind SYMBOL CAPACITY 8,
    name SYMBOL CAPACITY 4096,
    events LONG,
    users LONG,
    value_sum DOUBLE,
    last_ts TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, kind, name)`,
  `CREATE TABLE IF NOT EXISTS ${USER_USAGE_DAILY_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    user_id SYMBOL CAPACITY 262144 NOCACHE,
    kind SYMBOL CAPACITY 8,
    name SYMBOL CAPACITY 4096,
    events LONG,
    value_sum DOUBLE,
    last_ts TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, user_id, kind, name)`,
  // As of each evaluation time (a local midnight): the window ending there and the one before.
  `CREATE TABLE IF NOT EXISTS ${ROLLING_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    figure SYMBOL CAPACITY 8,
    kind SYMBOL CAPACITY 8,
    subject SYMBOL CAPACITY 4096,
    window_days INT,
    value LONG,
    previous LONG,
    change LONG,
    change_pct DOUBLE
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, figure, subject, window_days)`,
  `CREATE TABLE IF NOT EXISTS ${RATIOS_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    user_id SYMBOL CAPACITY 262144 NOCACHE,
    pair SYMBOL CAPACITY 256,
    window_days INT,
    a LONG,
    b LONG,
    percent_more DOUBLE,
    state SYMBOL CAPACITY 4
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, user_id, pair, window_days)`,
  `CREATE TABLE IF NOT EXISTS ${LAST_SEEN_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    scope SYMBOL CAPACITY 4,
    subject SYMBOL CAPACITY 4096,
    last_seen_at TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, scope, subject)`,
  `CREATE TABLE IF NOT EXISTS ${METRICS_TABLE} (
    ts TIMESTAMP,
    client_id SYMBOL CAPACITY 16384,
    name SYMBOL CAPACITY 1024,
    window_days INT,
    count LONG,
    sum DOUBLE,
    avg DOUBLE,
    last DOUBLE,
    nps DOUBLE,
    csat DOUBLE
  ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, client_id, name, window_days)`,
  // Operations, in wall-clock time: one row per write, the last line of that write.
  // One row per write of each partition: `partition_no` says whose.
  `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
    ts TIMESTAMP,
    partition_no SYMBOL CAPACITY 1024,
    written_seq LONG,
    watermark TIMESTAMP,
    messages LONG,
    events LONG,
    dead_letters LONG,
    too_late LONG,
    figure_rows LONG,
    pending LONG
  ) TIMESTAMP(ts) PARTITION BY DAY TTL 30 DAYS WAL`,
];

export async function createTables(sql: QuestSql): Promise<void> {
  for (const ddl of DDL) await sql.query(ddl);
}
