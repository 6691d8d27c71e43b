/**
 * Memory of the windowed state per active (client, event name) key, measured on the
 * operators alone (no I/O), without user ids so per-user state is excluded, at the
 * default windows. RSS after a full GC, before and after.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../operators/calendar.js';
import { UsageState } from '../../operators/usage-figures.js';
import { EventIds } from '../../operators/event-ids.js';
import type { TrackingEvent } from '../../schemas/types.js';

export interface MemoryFigures {
  keys: number;
  bytesPerKey: number;
  /** JS heap plus typed-array buffers, without the allocator's unreturned pages. */
  liveBytesPerKey: number;
  rssBefore: number;
  rssAfter: number;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

export function measureKeyMemory(
  clients: number,
  names: number,
  days: number,
  perKey: number,
): MemoryFigures {
  const state = new UsageState({
    calendar: new Calendar('UTC'),
    days: [1, 7, 30],
    allowedLatenessMs: 3_600_000,
    ratios: [],
  });
  gc();
  const live = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const rssBefore = process.memoryUsage().rss;
  const liveBefore = live();
  const start = Date.parse('2026-10-01T00:00:00Z');
  const total = clients * names * perKey;
  const batch: TrackingEvent[] = [];
  for (let i = 0; i < total; i++) {
    const key = i % (clients * names);
    batch.push({
      // Derived ids (as without a producer id): the id horizon is measured on its own.
      eventId: `js-${i}`,
      ts: start + Math.floor((i / total) * days * 86_400_000),
      kind: 'screen',
      name: `tela:f${key % names}`,
      clientId: `client-${Math.floor(key / names)}`,
      userId: null,
      value: 1,
      properties: null,
      receivedAt: 0,
      streamSeq: i,
      index: 0,
      subject: 'tracking.events',
    });
    if (batch.length === 10_000) state.apply({ events: batch.splice(0), lastSeq: i });
  }
  state.apply({ events: batch.splice(0), lastSeq: total });
  gc();
  const rssAfter = process.memoryUsage().rss;
  const keys = clients * names;
  return {
    keys,
    bytesPerKey: (rssAfter - rssBefore) / keys,
    liveBytesPerKey: (live() - liveBefore) / keys,
    rssBefore,
    rssAfter,
  };
}

/** Bytes per producer id the id horizon remembers (operators/event-ids.ts), alone. */
export function measureIdMemory(n: number): { ids: number; bytesPerId: number } {
  gc();
  const live = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = live();
  const ids = new EventIds({ horizonMs: 86_400_000, maxIds: n });
  const batch: TrackingEvent[] = [];
  for (let i = 0; i < n; i++) {
    batch.push({
      eventId: `evt-${i.toString(36)}-${(i * 2654435761) % 1e9}`,
      ts: 0,
      kind: 'login',
      name: 'login',
      clientId: `client-${i % 10_000}`,
      userId: null,
      value: 1,
      properties: null,
      receivedAt: 1_700_000_000_000 + i,
      streamSeq: i,
      index: 0,
      subject: 'tracking.events',
    });
    if (batch.length === 10_000) ids.apply(batch.splice(0));
  }
  ids.apply(batch);
  gc();
  return { ids: ids.size, bytesPerId: (live() - before) / n };
}

/**
 * The measure in a fresh process: RSS in the bench's own process reflects what its earlier
 * phases allocated and gave back (it once came out negative).
 */
export function measureKeyMemoryApart(
  clients: number,
  names: number,
  days: number,
  perKey: number,
): MemoryFigures {
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      fileURLToPath(import.meta.url),
      String(clients),
      String(names),
      String(days),
      String(perKey),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as MemoryFigures;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'ids') {
  process.stdout.write(JSON.stringify(measureIdMemory(Number(process.argv[3] ?? 1_000_000))));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [clients, names, days, perKey] = process.argv.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  process.stdout.write(JSON.stringify(measureKeyMemory(clients, names, days, perKey)));
}
