/**
 * `pulso status`: per partition, its owner, where it stands in the tracking stream, its
 * watermark, its lag and its last checkpoint — read from the partition state in NATS
 * (partition-store.ts), so it shows every worker's partitions from anywhere.
 */
import type { Command } from 'commander';
import { connectAs, type Role } from '../adapters/nats/connect.js';
import { PartitionStore, type PartitionRecord } from '../adapters/nats/partition-store.js';
import type { Config } from '../config/types.js';

export interface PartitionStatus {
  partition: number;
  owner: string | null;
  claimedAt: string | null;
  /** Tracking-stream sequence of the last checkpoint. */
  seq: number;
  /** Messages in the tracking stream after it. */
  lag: number;
  watermark: string | null;
  checkpointAt: string | null;
  checkpointBytes: number;
  checkpointMs: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function statusOf(
  records: (PartitionRecord | undefined)[],
  lastSeq: number,
): PartitionStatus[] {
  return records.map((r, partition) => ({
    partition,
    owner: r?.worker ?? null,
    claimedAt: iso(r?.claimedAt ?? null),
    seq: r?.seq ?? 0,
    lag: Math.max(0, lastSeq - (r?.seq ?? 0)),
    watermark: iso(r?.watermark ?? null),
    checkpointAt: iso(r?.checkpointAt ?? null),
    checkpointBytes: r?.checkpointBytes ?? 0,
    checkpointMs: r?.checkpointMs ?? 0,
  }));
}

/** A fixed-width table, one line per partition. */
export function statusTable(rows: PartitionStatus[]): string {
  const head = ['partition', 'owner', 'seq', 'lag', 'watermark', 'checkpoint', 'bytes', 'ms'];
  const lines = rows.map((r) => [
    String(r.partition),
    r.owner ?? '-',
    String(r.seq),
    String(r.lag),
    r.watermark ?? '-',
    r.checkpointAt ?? '-',
    String(r.checkpointBytes),
    String(r.checkpointMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines]
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function statusCommand(program: Command, setup: () => { config: Config }): void {
  program
    .command('status')
    .description(
      'per partition: its owner, stream position, watermark, lag and last checkpoint (from NATS)',
    )
    .option('--json', 'one JSON object per partition instead of a table')
    .option('--role <role>', 'the NATS role to read as', 'admin')
    .action(async (opts: { json?: boolean; role: string }) => {
      const { config } = setup();
      const nc = await connectAs(config, opts.role as Role, { name: 'pulso-status' });
      try {
        const jsm = await nc.jetstreamManager();
        const tracking = await jsm.streams.info(config.nats.trackingStream.name);
        const store = await PartitionStore.open(nc, config.nats.state);
        const rows = statusOf(
          await store.records(config.partitions.count),
          tracking.state.last_seq,
        );
        if (opts.json) for (const r of rows) console.log(JSON.stringify(r));
        else console.log(statusTable(rows));
      } finally {
        await nc.close();
      }
    });
}
