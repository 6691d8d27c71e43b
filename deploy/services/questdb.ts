/**
 * QuestDB from its Maven Central jar, cached, started with its own root dir and ports, and
 * stopped cleanly — or the server named by configuration, used as it is.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ServiceError } from './errors.js';
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

export interface QuestDbServiceOptions {
  host: string;
  /** The interface it listens on (loopback unless configured). */
  bind: string;
  httpPort: number;
  pgPort: number;
  ilpPort: number;
  healthPort: number;
  heapMb: number;
  version: string;
  dataDir: string;
  cacheDir?: string;
  install: boolean;
}

/** The users of the QuestDB Pulso manages: generated on its first start, never admin/quest. */
export interface QuestDbCredentials {
  user: string;
  password: string;
  readOnlyUser: string;
  readOnlyPassword: string;
}

export const questDbCredentialsFile = (dataDir: string) =>
  join(resolve(dataDir), 'questdb', 'credentials.json');

/** The generated credentials, when Pulso started a QuestDB in this data dir. */
export function readQuestDbCredentials(dataDir: string): QuestDbCredentials | undefined {
  const file = questDbCredentialsFile(dataDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as QuestDbCredentials;
}

function ensureQuestDbCredentials(dataDir: string): QuestDbCredentials {
  const existing = readQuestDbCredentials(dataDir);
  if (existing) return existing;
  const secret = () => randomBytes(18).toString('base64url');
  const c: QuestDbCredentials = {
    user: 'pulso',
    password: secret(),
    readOnlyUser: 'analyst',
    readOnlyPassword: secret(),
  };
  const file = questDbCredentialsFile(dataDir);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return c;
}

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pulso');
}

/** The jar, fetched from Maven Central with Maven into the cache on first use. */
export function questDbJar(version: string, cacheDir: string, install: boolean): string {
  const dir = join(cacheDir, 'questdb');
  const jar = join(dir, `questdb-${version}.jar`);
  if (existsSync(jar)) return jar;
  if (!which('mvn')) {
    const why = aptInstall(['maven'], install);
    if (why)
      throw new ServiceError('questdb', `Maven (mvn) is needed to fetch the QuestDB jar: ${why}`);
  }
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-U',
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy',
      `-Dartifact=org.questdb:questdb:${version}`,
      `-DoutputDirectory=${dir}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0 || !existsSync(jar)) {
    const detail = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.includes('ERROR'))
      .slice(0, 3)
      .join(' ');
    throw new ServiceError(
      'questdb',
      `could not fetch org.questdb:questdb:${version} from Maven Central: ${detail || `mvn exit ${r.status}`}`,
    );
  }
  return jar;
}

function javaMajor(): number | undefined {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  if (!m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

export async function startQuestDb(o: QuestDbServiceOptions): Promise<ServiceReport> {
  const dir = resolve(o.dataDir, 'questdb');
  const recordFile = join(dir, 'service.json');
  const logFile = join(dir, 'questdb.log');
  const address = `http://${o.host}:${o.httpPort}`;
  const rec = readRecord(recordFile);
  const auth = ensureQuestDbCredentials(o.dataDir);
  if (rec && isAlive(rec.pid) && (await answersSql(o.host, o.httpPort, auth))) {
    return { service: 'questdb', action: 'reused', pid: rec.pid, address, dataDir: dir, logFile };
  }
  for (const [key, port] of [
    ['questdb.httpPort', o.httpPort],
    ['questdb.pgPort', o.pgPort],
    ['services.questdbIlpPort', o.ilpPort],
    ['services.questdbHealthPort', o.healthPort],
  ] as const) {
    if (await portOpen(port)) {
      throw new ServiceError(
        'questdb',
        `port ${port} (${key}) is taken by another process; choose another port or stop that process`,
        { port, key },
      );
    }
  }
  let major = javaMajor();
  if (major === undefined) {
    const why = aptInstall(['openjdk-17-jre-headless'], o.install);
    if (why) throw new ServiceError('questdb', `Java 17 or newer is needed: ${why}`);
    major = javaMajor();
  }
  if (major === undefined || major < 17)
    throw new ServiceError('questdb', `Java 17 or newer is needed, found ${major ?? 'none'}`);
  const jar = questDbJar(o.version, o.cacheDir ?? defaultCacheDir(), o.install);

  const root = join(dir, 'root');
  const tmp = join(dir, 'tmp'); // the native libraries are unpacked here: it must allow exec
  mkdirSync(tmp, { recursive: true });
  mkdirSync(root, { recursive: true });
  const env = {
    ...process.env,
    QDB_HTTP_NET_BIND_TO: `${o.bind}:${o.httpPort}`,
    QDB_PG_NET_BIND_TO: `${o.bind}:${o.pgPort}`,
    QDB_LINE_TCP_NET_BIND_TO: `${o.bind}:${o.ilpPort}`,
    QDB_HTTP_MIN_NET_BIND_TO: `${o.bind}:${o.healthPort}`,
    // Basic authentication on REST and ILP over HTTP; the PG admin and the built-in
    // read-only user (Grafana, analysts) with generated passwords. ILP over TCP has no
    // password in open-source QuestDB: it is switched off (Pulso writes over HTTP).
    QDB_HTTP_USER: auth.user,
    QDB_HTTP_PASSWORD: auth.password,
    QDB_PG_USER: auth.user,
    QDB_PG_PASSWORD: auth.password,
    QDB_PG_READONLY_USER_ENABLED: 'true',
    QDB_PG_READONLY_USER: auth.readOnlyUser,
    QDB_PG_READONLY_PASSWORD: auth.readOnlyPassword,
    QDB_LINE_TCP_ENABLED: 'false',
    QDB_LINE_UDP_ENABLED: 'false',
    QDB_TELEMETRY_ENABLED: 'false',
    // Few worker threads: these machines have 2 cores shared with NATS and the pipeline.
    QDB_SHARED_WORKER_COUNT: '2',
  };
  const args = [
    '-XX:+UnlockExperimentalVMOptions',
    '-XX:+UseParallelGC',
    '-Xms256m',
    `-Xmx${o.heapMb}m`,
    `-Djava.io.tmpdir=${tmp}`,
    '-DQuestDB-Runtime-66535',
    '-Dcontainerized=false',
    '-ea',
    '-Dnoebug',
    '--add-exports',
    'java.base/jdk.internal.math=io.questdb',
    '-p',
    jar,
    '-m',
    'io.questdb/io.questdb.ServerMain',
    '-d',
    root,
  ];
  const pid = spawnDetached('java', args, logFile, env);
  writeRecord(recordFile, {
    pid,
    startedAt: new Date().toISOString(),
    root,
    jar,
    httpPort: o.httpPort,
    pgPort: o.pgPort,
  });
  try {
    await waitUntil(
      `QuestDB on port ${o.httpPort}`,
      () => answersSql(o.host, o.httpPort, auth),
      90_000,
      () => (isAlive(pid) ? undefined : `exited at start; see ${logFile}`),
    );
  } catch (cause) {
    throw new ServiceError('questdb', (cause as Error).message, { logFile }, { cause });
  }
  return { service: 'questdb', action: 'started', pid, address, dataDir: dir, logFile };
}

export async function answersSql(
  host: string,
  httpPort: number,
  auth?: { user: string; password: string },
): Promise<boolean> {
  try {
    const r = await fetch(`http://${host}:${httpPort}/exec?query=SELECT%201`, {
      signal: AbortSignal.timeout(2000),
      ...(auth
        ? {
            headers: {
              authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`,
            },
          }
        : {}),
    });
    return r.ok;
  } catch {
    return false;
  }
}

export async function stopQuestDb(dataDir: string): Promise<string> {
  const recordFile = join(resolve(dataDir), 'questdb', 'service.json');
  const rec = readRecord(recordFile);
  if (!rec) return 'questdb: not started by Pulso here';
  const result = await stopPid(rec.pid, 30_000);
  removeRecord(recordFile);
  return `questdb: ${result} (pid ${rec.pid})`;
}
