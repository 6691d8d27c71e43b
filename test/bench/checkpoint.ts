/**
 * The longest event-loop stall while a checkpoint of a large state is taken and written, in
 * process: a 1 ms timer records the widest gap between its ticks while `CheckpointStore`
 * encodes and saves the state of `clients × names` (client, event name) keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../operators/calendar.js';
import { UsageState } from '../../operators/usage-figures.js';
import { CheckpointStore } from '../../pipeline/checkpoint.js';
import type { TrackingEvent } from '../../schemas/types.js';

export interface CheckpointStall {
  keys: number;
  bytes: number;
  /** Longest time the event loop could not run, during encode + save. */
  stallMs: number;
  /** Wall time of the whole checkpoint. */
  totalMs: number;
}

function buildState(clients: number, names: number): UsageState {
  const state = new UsageState({
    calendar: new Calendar('UTC'),
    days: [1, 7, 30],
    allowedLatenessMs: 3_600_000,
    ratios: [],
  });
  const start = Date.parse('2026-10-01T00:00:00Z');
  const batch: TrackingEvent[] = [];
  const total = clients * names;
  for (let i = 0; i < total; i++) {
    batch.push({
      eventId: `ck-${i}`,
      ts: start + Math.floor((i / total) * 20 * 86_400_000),
      kind: 'screen',
      name: `tela:f${i % names}`,
      clientId: `client-${Math.floor(i / names)}`,
      userId: null,
      value: 1,
      properties: null,
      receivedAt: start + i,
      streamSeq: i,
      index: 0,
      subject: 'tracking.events',
    });
    if (batch.length === 10_000) state.apply({ events: batch.splice(0), lastSeq: i });
  }
  state.apply({ events: batch.splice(0), lastSeq: total });
  return state;
}

export async function measureCheckpointStall(
  clients: number,
  names: number,
): Promise<CheckpointStall> {
  const state = buildState(clients, names);
  const dir = mkdtempSync(join(tmpdir(), 'pulso-ckpt-bench-'));
  const store = new CheckpointStore(dir, 'bench');
  let stallMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  stallMs = 0;
  last = performance.now();
  const t0 = performance.now();
  const picture = await state.snapshotInSteps(() => new Promise((r) => setImmediate(r)));
  const bytes = await store.save(store.stage(store.prepare(state.seq, picture)));
  const totalMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  rmSync(dir, { recursive: true, force: true });
  await store.close();
  return { keys: clients * names, bytes, stallMs, totalMs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [clients = 10_000, names = 30] = process.argv.slice(2).map(Number);
  measureCheckpointStall(clients, names).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
