/** Small process facts the service starters share: is it alive, is a port free, wait until ready. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import pRetry, { AbortError } from 'p-retry';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  abortIf?: () => string | undefined,
): Promise<void> {
  const every = 200;
  await pRetry(
    async () => {
      if (await check()) return;
      const abort = abortIf?.();
      if (abort) throw new AbortError(`${what}: ${abort}`);
      throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s`);
    },
    { retries: Math.ceil(timeoutMs / every), factor: 1, minTimeout: every, maxTimeout: every },
  );
}

/** Finds an executable on PATH or in the usual system folders. */
export function which(cmd: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    '/usr/sbin',
    '/usr/local/bin',
    '/usr/bin',
    '/sbin',
  ];
  for (const d of dirs) {
    if (d && existsSync(`${d}/${cmd}`)) return `${d}/${cmd}`;
  }
  return undefined;
}

/** Starts a long-running server detached from this process, its output in `logFile`. */
export function spawnDetached(
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

/** What bringing a service up did, for the logs and the person reading them. */
export interface ServiceReport {
  service: 'nats' | 'questdb';
  action: 'started' | 'reused' | 'external';
  pid?: number;
  address: string;
  dataDir?: string;
  logFile?: string;
}

/** What Pulso remembers of a service it started, so another run can reuse or stop it. */
export interface ServiceRecord {
  pid: number;
  startedAt: string;
  [key: string]: unknown;
}

export function readRecord(file: string): ServiceRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(file: string, record: ServiceRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 2));
}

export async function stopPid(
  pid: number,
  graceMs = 15_000,
): Promise<'stopped' | 'killed' | 'not running'> {
  if (!isAlive(pid)) return 'not running';
  process.kill(pid, 'SIGTERM');
  const stopped = await waitUntil('stop', async () => !isAlive(pid), graceMs).then(
    () => true,
    () => false,
  );
  if (stopped) return 'stopped';
  process.kill(pid, 'SIGKILL');
  return 'killed';
}

export function removeRecord(file: string): void {
  rmSync(file, { force: true });
}

/** apt-get install, when allowed and possible; otherwise says why not. */
export function aptInstall(pkgs: string[], allowed: boolean): string | undefined {
  if (!allowed)
    return `installing is turned off (services.install = false); install ${pkgs.join(' ')} yourself`;
  if (!which('apt-get')) return `apt-get is not available; install ${pkgs.join(' ')} yourself`;
  if (process.getuid?.() !== 0)
    return `not running as root; run: sudo apt-get install -y ${pkgs.join(' ')}`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  if (update.status !== 0) return 'apt-get update failed';
  const r = spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: 'inherit', env });
  return r.status === 0 ? undefined : `apt-get install ${pkgs.join(' ')} failed (exit ${r.status})`;
}
