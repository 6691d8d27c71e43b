/**
 * Checkpoints put by Pulso's own Object Store writer (natively hashed) are objects like any
 * other: nats.js reads them back, digest checked, and a replaced one leaves no chunks behind.
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
});
