/**
 * A nats-server with JetStream on Pulso's own port and store dir — or the server named by
 * configuration, used as it is.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  /**
   * nats://host:port; the host must be this machine for Pulso to start it. Several URLs,
   * separated by commas, make a cluster: one node on each (see startNatsCluster).
   */
  url: string;
  /** The monitoring port (node i of a cluster: this plus i). */
  monitorPort: number;
  /** The first cluster (route) port of a cluster: node i uses this plus i. */
  clusterPort?: number;
  dataDir: string;
  install: boolean;
  /** The interface it listens on (loopback unless configured). */
  bind: string;
  /** The streams the roles' permissions name. */
  streams: StreamNames;
}

/** Pulso's own NATS folder in the data dir (credentials, store, logs). */
export const natsDirOf = (dataDir: string) => join(dataDir, 'nats');

/** The URLs of nats.url: one, or a cluster's seed list. */
export function natsUrlsOf(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
}

function portOf(url: string): { host: string; port: number } {
  const u = new URL(url.replace(/^(nats|tls):/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 4222) };
}

/** One server to run: its folder, ports and, in a cluster, its routes. */
interface NodeSpec {
  url: string;
  dir: string;
  monitorPort: number;
  cluster?: { name: string; port: number; routes: string[]; user: string; password: string };
  serverName?: string;
}

/** The one server, or every node of a cluster when nats.url lists several. */
export async function startNats(o: NatsServiceOptions): Promise<ServiceReport> {
  const reports = await startNatsCluster(o);
  if (reports.length === 1) return reports[0]!;
  return {
    service: 'nats',
    action: reports.every((r) => r.action === 'reused') ? 'reused' : 'started',
    pid: reports[0]!.pid,
    address: natsUrlsOf(o.url).join(','),
    dataDir: natsDirOf(o.dataDir),
    logFile: reports.map((r) => r.logFile).join(', '),
  };
}

/**
 * A JetStream cluster on this machine: one node per URL of nats.url, each with its own
 * store dir (`nats/node-<i>/store`), monitoring port (`monitorPort + i`) and route port
 * (`clusterPort + i`), the routes authenticated with a generated secret. A single URL
 * starts a single server, as before (its store in `nats/store`). Nodes already running
 * are reused: after one is stopped, calling this again starts just that one.
 */
export async function startNatsCluster(o: NatsServiceOptions): Promise<ServiceReport[]> {
  const urls = natsUrlsOf(o.url);
  const dir = natsDirOf(o.dataDir);
  const keys = ensureCredentials(dir);
  if (urls.length === 1)
    return [await startNode(o, { url: urls[0]!, dir, monitorPort: o.monitorPort }, keys)];
  const clusterPort = o.clusterPort ?? 16222;
  const secret = routeSecret(dir);
  const routes = urls.map((_, i) => `nats-route://route:${secret}@127.0.0.1:${clusterPort + i}`);
  const nodes: NodeSpec[] = urls.map((url, i) => ({
    url,
    dir: join(dir, `node-${i}`),
    monitorPort: o.monitorPort + i,
    serverName: `pulso-${i}`,
    cluster: {
      name: 'pulso',
      port: clusterPort + i,
      routes: routes.filter((_, j) => j !== i),
      user: 'route',
      password: secret,
    },
  }));
  // All at once: a node's JetStream becomes ready only once it has met the others.
  return Promise.all(nodes.map((n) => startNode(o, n, keys)));
}

/** The routes' shared secret, generated once into the credentials folder (owner-only). */
function routeSecret(natsDir: string): string {
  const file = join(natsDir, 'credentials', 'cluster-route.secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function startNode(
  o: NatsServiceOptions,
  n: NodeSpec,
  keys: ReturnType<typeof ensureCredentials>,
): Promise<ServiceReport> {
  const { host, port } = portOf(n.url);
  const recordFile = join(n.dir, 'service.json');
  const logFile = join(n.dir, 'nats-server.log');
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new ServiceError(
      'nats',
      `cannot start a server for ${n.url}: the host is not this machine (set services.nats: external to use it as it is)`,
    );
  }
  const rec = readRecord(recordFile);
  if (rec && isAlive(rec.pid) && (await portOpen(port))) {
    return {
      service: 'nats',
      action: 'reused',
      pid: rec.pid,
      address: n.url,
      dataDir: n.dir,
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
  mkdirSync(n.dir, { recursive: true, mode: 0o700 });
  const store = join(n.dir, 'store');
  const confFile = join(n.dir, 'nats-server.conf');
  const c = n.cluster;
  writeFileSync(
    confFile,
    [
      ...(n.serverName ? [`server_name: ${JSON.stringify(n.serverName)}`] : []),
      `listen: ${JSON.stringify(`${o.bind}:${port}`)}`,
      `http: ${JSON.stringify(`127.0.0.1:${n.monitorPort}`)}`,
      `jetstream { store_dir: ${JSON.stringify(store)} }`,
      ...(c
        ? [
            `cluster {
  name: ${JSON.stringify(c.name)}
  listen: ${JSON.stringify(`127.0.0.1:${c.port}`)}
  authorization { user: ${JSON.stringify(c.user)}, password: ${JSON.stringify(c.password)} }
  routes: [${c.routes.map((r) => JSON.stringify(r)).join(', ')}]
}`,
          ]
        : []),
      // Authorization on from the first start: one nkey user per role (nats-roles.ts).
      authorizationBlock(keys, o.streams),
    ].join('\n'),
    { mode: 0o600 },
  );
  const args = ['-c', confFile, '-l', logFile];
  const pid = spawnDetached(bin, args, join(n.dir, 'stdout.log'));
  writeRecord(recordFile, { pid, startedAt: new Date().toISOString(), port, store });
  try {
    await waitUntil(
      `nats-server on port ${port}`,
      async () => (await portOpen(port)) && (await jetStreamReady(n.monitorPort, !!c)),
      c ? 30_000 : 15_000,
      () => (isAlive(pid) ? undefined : `exited at start; see ${logFile}`),
    );
  } catch (cause) {
    throw new ServiceError('nats', (cause as Error).message, { logFile }, { cause });
  }
  return { service: 'nats', action: 'started', pid, address: n.url, dataDir: n.dir, logFile };
}

/** JetStream enabled — and, in a cluster, a meta leader elected and known to this node. */
async function jetStreamReady(monitorPort: number, cluster: boolean): Promise<boolean> {
  try {
    const base = `http://127.0.0.1:${monitorPort}`;
    if (!(await fetch(`${base}/healthz?js-enabled-only=true`)).ok) return false;
    if (!cluster) return true;
    const jsz = (await (await fetch(`${base}/jsz`)).json()) as {
      meta_cluster?: { leader?: string };
    };
    return !!jsz.meta_cluster?.leader;
  } catch {
    return false;
  }
}

/** The node records in the data dir: the single server's, and each cluster node's. */
function nodeRecords(dataDir: string): string[] {
  const dir = natsDirOf(dataDir);
  const nodes = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => /^node-\d+$/.test(d))
        .map((d) => join(dir, d, 'service.json'))
    : [];
  return [join(dir, 'service.json'), ...nodes];
}

export async function stopNats(dataDir: string): Promise<string> {
  const lines: string[] = [];
  for (const recordFile of nodeRecords(dataDir)) {
    const rec = readRecord(recordFile);
    if (!rec) continue;
    const result = await stopPid(rec.pid);
    removeRecord(recordFile);
    lines.push(`${result} (pid ${rec.pid})`);
  }
  return lines.length > 0 ? `nats: ${lines.join('; ')}` : 'nats: not started by Pulso here';
}

/**
 * Stops one node of a managed cluster (for tests and drills); `kill`: at once (SIGKILL), as
 * a machine's loss would.
 */
export async function stopNatsNode(dataDir: string, node: number, kill = false): Promise<string> {
  const recordFile = join(natsDirOf(dataDir), `node-${node}`, 'service.json');
  const rec = readRecord(recordFile);
  if (!rec) return `nats node ${node}: not running`;
  if (kill && isAlive(rec.pid)) process.kill(rec.pid, 'SIGKILL');
  const result = kill ? 'killed' : await stopPid(rec.pid);
  removeRecord(recordFile);
  return `nats node ${node}: ${result}`;
}
