/**
 * The pipeline as an operator meets it: ids that count once across a late re-send, a flood
 * of new clients against the bound, start-up failures that say what to fix, and the
 * supervisor bringing the pipeline back after a SIGKILL and a NATS outage.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { startNats, stopNats } from '../../deploy/services/nats.js';
import { natsOptions } from '../support/global-services.js';
import { dataDir, pipelineWorld, testEnv, type PipelineProcess } from '../support/world.js';

const cli = join(process.cwd(), 'dist', 'pipeline', 'cli', 'main.js');

/** Runs `pulso run` to its end; its exit code and what it printed on stderr. */
function runToEnd(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'run'], {
      env: { ...process.env, ...testEnv(), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
}

const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('resilience', () => {
  const { world, start } = pipelineWorld();
  let pipeline: PipelineProcess | undefined;

  it('start-up failures are one line naming the setting, and exit 78 at once', async () => {
    const dir = await runToEnd({ PULSO_CHECKPOINT__DIR: '/etc/hostname/state' });
    expect(dir.code).toBe(78);
    expect(dir.stderr.trim().split('\n')).toHaveLength(1);
    expect(dir.stderr).toMatch(
      /PULSO_CHECKPOINT__DIR: \/checkpoint\/dir: expected a directory Pulso can create and write .*ENOTDIR/,
    );
    const auth = await runToEnd({ PULSO_QUESTDB__PASSWORD: 'wrong' });
    expect(auth.code).toBe(78);
    expect(auth.stderr.trim().split('\n')).toHaveLength(1);
    expect(auth.stderr).toMatch(
      /\/questdb\/user, \/questdb\/password: expected a user and password QuestDB accepts/,
    );
    expect(auth.ms).toBeLessThan(20_000);
  });

  it('the same 10,000 events sent twice — re-cut, after the duplicate window, no Nats-Msg-Id — leave every table as one send', async () => {
    const env = {
      PULSO_NATS__TRACKING_STREAM__DUPLICATE_WINDOW_SECONDS: '1',
      PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
    };
    const now = Date.now();
    // Within the allowed lateness of the first send's newest event: nothing is too late.
    const events = Array.from({ length: 10_000 }, (_, i) => ({
      id: `idem-${i}`,
      kind: (['login', 'screen', 'action'] as const)[i % 3],
      ...(i % 3 === 0 ? {} : { name: i % 3 === 1 ? 'tela:pedidos' : 'acao:emitir' }),
      client_id: `c-${i % 50}`,
      user_id: `u-${i % 300}`,
      timestamp: now - 40 * 60_000 + i * 100,
    }));
    const dump = async () => ({
      events: await world.scalar('SELECT count() FROM events'),
      daily: await world.sql.query(
        'SELECT ts, client_id, kind, name, events, users FROM usage_daily ORDER BY ts, client_id, kind, name',
      ),
      users: await world.sql.query(
        'SELECT ts, client_id, user_id, name, events FROM user_usage_daily ORDER BY ts, client_id, user_id, name',
      ),
      lastSeen: await world.sql.query(
        'SELECT client_id, scope, subject, last_seen_at FROM last_seen LATEST ON ts PARTITION BY client_id, scope, subject ORDER BY client_id, scope, subject',
      ),
      outputs: (await world.outputs()).map((o) => o.id).sort(),
    });
    const shortWindow = async () =>
      ensureStreams(await world.nc.jetstreamManager(), {
        ...world.config.nats,
        trackingStream: { ...world.config.nats.trackingStream, duplicateWindowSeconds: 1 },
      });
    const send = (size: number, offset = 0) => {
      const out: { subject: string; payload: object }[] = [];
      if (offset > 0) out.push({ subject: 'tracking.events', payload: events.slice(0, offset) });
      for (let i = offset; i < events.length; i += size)
        out.push({ subject: 'tracking.events', payload: events.slice(i, i + size) });
      return world.publishAll(out, 20);
    };

    await shortWindow();
    pipeline = start(env);
    await send(250);
    await world.caughtUp(120_000, pipeline);
    const once = await dump();
    expect(once.events).toBe(10_000);

    await pipeline.kill('SIGTERM');
    await world.reset();
    await shortWindow();
    pipeline = start(env);
    await send(250);
    await world.caughtUp(120_000, pipeline);
    await new Promise((r) => setTimeout(r, 1500)); // past the stream's duplicate window
    await send(333, 77); // the same events, cut otherwise
    await world.caughtUp(120_000, pipeline);
    expect(await dump()).toEqual(once);
    expect((await world.deadLetters()).length).toBe(0);
  });

  it('200,000 new clients at a bound of 100,000: the excess is client_limit, memory stays bounded', async () => {
    const env = { PULSO_LIMITS__MAX_CLIENTS: '100000', PULSO_INGEST__STORE_RAW_EVENTS: 'false' };
    pipeline = start(env);
    await pipeline.untilLog('pipeline running');
    const now = Date.now();
    const messages = Array.from({ length: 200 }, (_, b) => ({
      subject: 'tracking.events',
      payload: Array.from({ length: 1000 }, (_, j) => ({
        kind: 'login',
        client_id: `flood-${b * 1000 + j}`,
        timestamp: now - 60_000 + b,
      })),
    }));
    await world.publishAll(messages, 10);
    await world.caughtUp(240_000, pipeline);
    const rss = rssOf(pipeline.child.pid!);
    const limited = (await world.deadLetters()).filter(
      (d) => d.subject === 'pulso.dlq.client_limit',
    );
    expect(limited).toHaveLength(100_000);
    expect(await world.scalar('SELECT count_distinct(client_id) FROM usage_daily')).toBe(100_000);
    // The bound documented in the README (Bounded memory).
    expect(rss).toBeLessThan(1.5 * 1024 ** 3);
    console.log(
      `RSS with 100,000 clients held, 100,000 refused: ${Math.round(rss / 1024 ** 2)} MiB`,
    );
  });

  it('the supervisor brings the pipeline back after a SIGKILL and a 10 s NATS outage; nothing lost or twice', async () => {
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    const base = Date.now() - 30 * 60_000;
    const messages = Array.from({ length: 400 }, (_, b) => ({
      subject: 'tracking.events',
      payload: Array.from({ length: 50 }, (_, j) => ({
        id: `sup-${b * 50 + j}`,
        kind: 'screen',
        name: 'tela:x',
        client_id: `s-${j}`,
        timestamp: base + b * 1000 + j,
      })),
    }));
    await world.publishAll(messages.slice(0, 200), 50);
    const up = spawn(process.execPath, [cli, 'up', '--no-demo', '--keep-services'], {
      env: { ...process.env, ...testEnv(), PULSO_INGEST__FLUSH_INTERVAL_MS: '50' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    up.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const until = async (text: string, count = 1, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (logs.split(text).length - 1 < count) {
        if (Date.now() > deadline) throw new Error(`no ${count}× "${text}":\n${logs.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until('pipeline running');
      // The supervised pipeline is `up`'s only child process.
      const child = () =>
        Number(
          execFileSync('pgrep', ['-P', String(up.pid)], { encoding: 'utf8' })
            .trim()
            .split('\n')[0],
        );
      process.kill(child(), 'SIGKILL');
      await until('pipeline ended; restarting it');
      await until('pipeline running', 2);
      await world.publishAll(messages.slice(200, 300), 50);
      // NATS away for 10 s: the pipeline loses its connection and ends; it is brought back.
      await world.closeNats();
      await stopNats(dataDir());
      await new Promise((r) => setTimeout(r, 10_000));
      await startNats(natsOptions(dataDir(), true));
      await world.open();
      await until('pipeline running', 3, 90_000);
      await world.publishAll(messages.slice(300), 50);
      await world.caughtUp(120_000);
      expect(await world.scalar('SELECT count() FROM events')).toBe(20_000);
      expect(await world.scalar('SELECT count_distinct(event_id) FROM events')).toBe(20_000);
      expect(logs).toContain('killed by SIGKILL');
    } finally {
      const exited = new Promise((r) => up.once('exit', r));
      up.kill('SIGTERM');
      await exited;
    }
  });
});
