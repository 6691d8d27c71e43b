/**
 * The gateway's write keys: one or more per source (several active at once, for rotation),
 * kept in a JSON file as SHA-256 hashes only — the plain key is printed once, when it is
 * created. A key may be limited to browser origins. The gateway reads the file again when it
 * changes, so a revoked key stops working within seconds, without a restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../../config/types.js';
import { ConfigError } from '../../errors.js';

export interface WriteKey {
  id: string;
  /** The source its events come from: the subject token (tracking.events.<source>). */
  source: string;
  /** SHA-256 of the key, hex. */
  hash: string;
  /** Browser origins allowed to use it (none: any client). */
  origins: string[];
  createdAt: string;
}

/** Where the configuration keeps the write keys. */
export const keysFileOf = (c: Config) =>
  resolve(c.gateway.keysFile ?? join(c.services.dataDir, 'gateway', 'keys.json'));

const SOURCE = /^[A-Za-z0-9_-]{1,64}$/;

export const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

function read(file: string): WriteKey[] {
  if (!existsSync(file)) return [];
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { keys?: WriteKey[] };
    if (!Array.isArray(doc.keys)) throw new Error('no "keys" list');
    return doc.keys;
  } catch (e) {
    throw new ConfigError(
      file,
      '/keys',
      'the write keys file as `pulso gateway keys` writes it',
      (e as Error).message,
    );
  }
}

function write(file: string, keys: WriteKey[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Creates a key for the source; returns it in plain, the only time it is shown. */
export function createKey(
  file: string,
  source: string,
  origins: string[] = [],
): { key: string; entry: WriteKey } {
  if (!SOURCE.test(source))
    throw new ConfigError(
      'the command line',
      '/source',
      'a source name of letters, digits, _ or - (at most 64)',
      source,
    );
  const key = `pk_${source}_${randomBytes(24).toString('base64url')}`;
  const entry: WriteKey = {
    id: randomBytes(6).toString('hex'),
    source,
    hash: hashOf(key),
    origins,
    createdAt: new Date().toISOString(),
  };
  write(file, [...read(file), entry]);
  return { key, entry };
}

/** Revokes a key by its id; false when there is none. */
export function revokeKey(file: string, id: string): boolean {
  const keys = read(file);
  const kept = keys.filter((k) => k.id !== id);
  if (kept.length === keys.length) return false;
  write(file, kept);
  return true;
}

export function listKeys(file: string): Omit<WriteKey, 'hash'>[] {
  return read(file).map(({ hash: _hash, ...rest }) => rest);
}

/** The keys in force, re-read when the file changes (checked at most once a second). */
export class WriteKeys {
  private byHash = new Map<string, WriteKey>();
  private mtime = -1;
  private checkedAt = 0;

  constructor(private readonly file: string) {
    this.refresh(true);
  }

  private refresh(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const m = existsSync(this.file) ? statSync(this.file).mtimeMs : 0;
    if (m === this.mtime) return;
    this.mtime = m;
    this.byHash = new Map(read(this.file).map((k) => [k.hash, k]));
  }

  lookup(key: string): WriteKey | undefined {
    this.refresh();
    return this.byHash.get(hashOf(key));
  }

  get size(): number {
    return this.byHash.size;
  }
}
