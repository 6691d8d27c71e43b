/**
 * The scale-out phase: the same history replayed by one process with a single partition,
 * by one worker owning 16 partitions, and by two workers sharing them — on this machine,
 * so the two workers share its cores. Also how evenly the hash spreads the clients'
 * events over the partitions, and each partition's checkpoint size and save time.
 */
import { partitionOf } from '../../operators/partition.js';
import { PartitionStore } from '../../pipeline/adapters/nats/partition-store.js';
import type { UsageEvent } from '../fixtures/usage-stream.js';

export interface ScaleOutRun {
  /** Partitions and the worker options of each process. */
  partitions: number;
  workers: Record<string, string>[];
}

export const SCALE_OUT_RUNS: { name: string; run: ScaleOutRun }[] = [
  { name: '1 process, 1 partition', run: { partitions: 1, workers: [{}] } },
  {
    name: '1 worker, 16 partitions',
    run: { partitions: 16, workers: [{ PULSO_WORKER__ORDINAL: '0', PULSO_WORKER__COUNT: '1' }] },
  },
  {
    name: '2 workers, 16 partitions',
    run: {
      partitions: 16,
      workers: [0, 1].map((i) => ({
        PULSO_WORKER__ORDINAL: String(i),
        PULSO_WORKER__COUNT: '2',
      })),
    },
  },
];

/** Largest over mean events per partition (1: perfectly even). */
export function skewOf(events: UsageEvent[], partitions: number): number {
  const counts = new Array<number>(partitions).fill(0);
  for (const e of events) counts[partitionOf(e.client_id, partitions)]!++;
  const mean = events.length / partitions;
  return Math.max(...counts) / mean;
}

/** Each partition's last checkpoint: size and save time, mean and largest. */
export async function checkpointFigures(
  store: PartitionStore,
  partitions: number,
): Promise<{ meanBytes: number; maxBytes: number; meanMs: number; maxMs: number }> {
  const records = (await store.records(partitions)).filter((r) => r !== undefined);
  if (records.length === 0) throw new Error('no partition has checkpointed');
  const bytes = records.map((r) => r.checkpointBytes);
  const ms = records.map((r) => r.checkpointMs);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    meanBytes: mean(bytes),
    maxBytes: Math.max(...bytes),
    meanMs: mean(ms),
    maxMs: Math.max(...ms),
  };
}
