/** Client attributes as stored in QuestDB, read back to restore the client directory. */
import type { ClientDirectory, ClientRow, UserRow } from '../../contract/client-directory.js';
import type { QuestSql } from './sql.js';
import { CLIENT_ATTRIBUTES_TABLE, USER_ATTRIBUTES_TABLE } from './tables.js';

/**
 * Restores each client's newest attribute row stored before `before` (epoch ms; Infinity:
 * all) into the directory; returns how many clients it holds.
 */
export async function restoreClients(
  sql: QuestSql,
  directory: ClientDirectory,
  before: number,
  /** The clients to keep (a partition's); the users are all kept. */
  keep: (clientId: string) => boolean = () => true,
): Promise<number> {
  for (const r of await latestBefore(sql, CLIENT_ATTRIBUTES_TABLE, 'client_id', before))
    if (keep(r.client_id as string)) directory.restore(toRow(r));
  // And the users (their client, their traits), as of the same time.
  const users = await latestBefore(sql, USER_ATTRIBUTES_TABLE, 'user_id', before);
  for (const r of users) directory.users.restore(toUserRow(r));
  return directory.size;
}

/** Each key's newest row stored before `before` (Infinity: all). */
function latestBefore(
  sql: QuestSql,
  table: string,
  key: string,
  before: number,
): Promise<Record<string, unknown>[]> {
  return Number.isFinite(before)
    ? sql.query(`SELECT * FROM ${table} WHERE ts < $1 LATEST ON ts PARTITION BY ${key}`, [
        new Date(before).toISOString(),
      ])
    : sql.query(`SELECT * FROM ${table} LATEST ON ts PARTITION BY ${key}`);
}

function toRow(r: Record<string, unknown>): ClientRow {
  return {
    ts: r.ts as number,
    clientId: r.client_id as string,
    updateId: r.update_id as string,
    status: (r.status as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    plan: (r.plan as string | null) ?? null,
    segment: (r.segment as string | null) ?? null,
    csm: (r.csm as string | null) ?? null,
    mrr: (r.mrr as number | null) ?? null,
    attributes: (r.attributes as string | null) ?? '{}',
    stamps: (r.stamps as string | null) ?? '{}',
  };
}

function toUserRow(r: Record<string, unknown>): UserRow {
  return {
    ts: r.ts as number,
    userId: r.user_id as string,
    clientId: (r.client_id as string | null) ?? null,
    updateId: r.update_id as string,
    traits: (r.traits as string | null) ?? '{}',
    stamps: (r.stamps as string | null) ?? '{}',
  };
}
