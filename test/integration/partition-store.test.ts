/**
 * Checkpoints put by Pulso's own Object Store writer (natively hashed) are objects like any
 * other: nats.js reads them back, digest checked, and a replaced one leaves no chunks behind.
 * Claims: the later-started worker keeps what it holds until it lets go.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionStore } from '../../pipeline/adapters/nats/partition-store.js';
import { World } from '../support/world.js';

describe('the partition store', () => {
  const world = new World();
  beforeAll(async () => {
    await world.open();
    await world.reset();
  });
  afterAll(() => world.close());

  it('saves checkpoints nats.js reads back, with the digest its own putBlob writes, and the old chunks purged', async () => {
    // As the pipeline role: its permissions are what a worker has.
    const store = await PartitionStore.open(world.pipelineNc, world.config.nats.state);
    const objects = `OBJ_${world.config.nats.state.bucket}_checkpoints`;
    // Several chunks and a partial last one; then a smaller replacement.
    const first = randomBytes(3 * 128 * 1024 + 777);
    await store.saveCheckpoint(3, first);
    expect(Buffer.from((await store.loadCheckpoint(3))!).equals(first)).toBe(true);
    const ours = (await store.objects.info('partition-3'))!;
    expect([ours.size, ours.chunks]).toEqual([first.length, 4]);
    // The client's own put of the same bytes: the same digest.
    await store.objects.putBlob({ name: 'by-nats-js' }, first);
    expect(ours.digest).toBe((await store.objects.info('by-nats-js'))!.digest);

    const second = randomBytes(1000);
    await store.saveCheckpoint(3, second);
    expect(Buffer.from((await store.loadCheckpoint(3))!).equals(second)).toBe(true);
    const jsm = await world.nc.jetstreamManager();
    const stream = await jsm.streams.info(objects, {
      subjects_filter: '>',
    });
    const chunks = Object.keys(stream.state.subjects ?? {}).filter((s) => s.includes('.C.'));
    // One chunk of the replacement, and the four of the nats.js object: the first's are gone.
    expect(chunks.map((s) => stream.state.subjects![s])).toEqual(expect.arrayContaining([1, 4]));
    expect(chunks).toHaveLength(2);
    await world.forgetCheckpoints();
  });

  it('a claim takes a partition from an earlier-started worker, never from a later one until it lets go', async () => {
    const store = await PartitionStore.open(world.pipelineNc, world.config.nats.state);
    const p = 11;
    await store.kv.purge(`owner.${p}`);
    const a = (await store.claim(p, 'worker-0@a:1', 1_000))!;
    expect(a.previous).toBeUndefined();
    // B started later (a replacement, or the new worker count's): it takes p from A.
    const b = (await store.claim(p, 'worker-2@b:2', 2_000))!;
    expect(b.previousOwner).toBe('worker-0@a:1');
    // A, restarting its claims or still restoring, does not take it back…
    expect(await store.claim(p, 'worker-0@a:1', 1_000)).toBeUndefined();
    expect(await store.claim(p, 'worker-1@c:3', 1_500)).toBeUndefined();
    expect((await store.record(p))!.record.worker).toBe('worker-2@b:2');
    // …its checkpoints are refused by the claim…
    await expect(
      a.save(new Uint8Array([1]), { seq: 5, watermark: null, costMs: 1 }),
    ).rejects.toThrow(/was claimed by worker-2@b:2/);
    // …until B says it let p go; a worker started after B takes it at once.
    await store.markReleased(p, b.current);
    const again = (await store.claim(p, 'worker-0@a:1', 1_000))!;
    expect(again.previousOwner).toBe('worker-2@b:2');
    expect((await store.claim(p, 'worker-1@d:4', 3_000))!.previousOwner).toBe('worker-0@a:1');
    // The claims stay in KV: gone with the rest, so no later test waits on them.
    await world.reset();
  });
});
