/**
 * A nats-server with JetStream on Pulso's own port and store dir — or the server named by
 * configuration, used as it is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from './errors.js';
import { authorizationBlock, ensureCredentials, type StreamNames } from './nats-roles.js';
import {
  aptInstall,
  isAlive,
  portOpen,
  readRecord,
  removeRecord,
  spawnDetached,
  stopPid,
  waitUntil,
  which,
  writeRecord,
  type ServiceReport,
} from './process.js';

export interface NatsServiceOptions {
  /** nats://host:port; the host must be this machine for Pulso to start it. */
  url: string;
  monitorPort: number;
  dataDir: string;
  install: boolean;
  /** The interface it listens on (loopback unless configured). */
  bind: string;
  /** The streams the roles' permissions name. */
  streams: StreamNames;
}

/** Pulso's own NATS folder in the data dir (credentials, store, logs). */
export const natsDirOf = (dataDir: string) => join(dataDir, 'nats');

function portOf(url: string): { host: string; port: number } {
  const u = new URL(url.replace(/^(nats|tls):/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 4222) };
}

export async function startNats(o: NatsServiceOptions): Promise<ServiceReport> {
  const { host, port } = portOf(o.url);
  const dir = natsDirOf(o.dataDir);
  const recordFile = join(dir, 'service.json');
  const logFile = join(dir, 'nats-server.log');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new ServiceError(
      'nats',
      `cannot start a server for ${o.url}: the host is not this machine (set services.nats: external to use it as it is)`,
    );
  }
  const rec = readRecord(recordFile);
  if (rec && isAlive(rec.pid) && (await portOpen(port))) {
    return {
      service: 'nats',
      action: 'reused',
      pid: rec.pid,
      address: o.url,
      dataDir: dir,
      logFile,
    };
  }
  if (await portOpen(port)) {
    throw new ServiceError(
      'nats',
      `port ${port} is taken by another process; choose another port in nats.url or stop that process`,
      { port },
    );
  }
  let bin = which('nats-server');
  if (!bin) {
    const why = aptInstall(['nats-server'], o.install);
    if (why) throw new ServiceError('nats', `nats-server not found: ${why}`);
    bin = which('nats-server');
    if (!bin) throw new ServiceError('nats', 'nats-server still not found after installing it');
  }
  const store = join(dir, 'store');
  // Authorization on from the first start: one nkey user per role (nats-roles.ts).
  const keys = ensureCredentials(dir);
  const confFile = join(dir, 'nats-server.conf');
  writeFileSync(
    confFile,
    [
      `listen: ${JSON.stringify(`${o.bind}:${port}`)}`,
      `http: ${JSON.stringify(`127.0.0.1:${o.monitorPort}`)}`,
      `jetstream { store_dir: ${JSON.stringify(store)} }`,
      authorizationBlock(keys, o.streams),
    ].join('\n'),
    { mode: 0o600 },
  );
  const args = ['-c', confFile, '-l', logFile];
  const pid = spawnDetached(bin, args, join(dir, 'stdout.log'));
  writeRecord(recordFile, { pid, startedAt: new Date().toISOString(), port, store });
  try {
    await waitUntil(
      `nats-server on port ${port}`,
      async () => (await portOpen(port)) && (await jetStreamReady(o.monitorPort)),
      15_000,
      () => (isAlive(pid) ? undefined : `exited at start; see ${logFile}`),
    );
  } catch (cause) {
    throw new ServiceError('nats', (cause as Error).message, { logFile }, { cause });
  }
  return { service: 'nats', action: 'started', pid, address: o.url, dataDir: dir, logFile };
}

async function jetStreamReady(monitorPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`);
    return r.ok;
  } catch {
    return false;
  }
}

export async function stopNats(dataDir: string): Promise<string> {
  const recordFile = join(dataDir, 'nats', 'service.json');
  const rec = readRecord(recordFile);
  if (!rec) return 'nats: not started by Pulso here';
  const result = await stopPid(rec.pid);
  removeRecord(recordFile);
  return `nats: ${result} (pid ${rec.pid})`;
}
