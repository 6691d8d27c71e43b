/** Explicit JetStream configuration, read back, and idempotent service start-up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../../deploy/services/nats.js';
import { startQuestDb } from '../../deploy/services/questdb.js';
import { ensureStreams, trackingStreamConfig } from '../../pipeline/adapters/nats/streams.js';
import { StreamMismatchError } from '../../pipeline/errors.js';
import { natsOptions, questDbOptions } from '../support/global-services.js';
import { TEST_PORTS } from '../support/ports.js';
import { dataDir, World } from '../support/world.js';

describe('streams and services', () => {
  const world = new World();
  beforeAll(async () => {
    await world.open();
    await world.reset();
  });
  afterAll(() => world.close());

  it('creates the streams, then finds them as configured', async () => {
    const jsm = await world.nc.jetstreamManager();
    const first = await ensureStreams(jsm, world.config.nats);
    expect(first.created).toEqual(['stream PULSO_TRACKING', 'stream PULSO_DLQ', 'stream PULSO_CS']);
    expect(await ensureStreams(jsm, world.config.nats)).toEqual({ created: [], updated: [] });
  });

  it('refuses to start on a stream that differs, naming each difference; --apply updates it', async () => {
    const jsm = await world.nc.jetstreamManager();
    const name = world.config.nats.trackingStream.name;
    await jsm.streams.update(name, {
      ...trackingStreamConfig(world.config.nats),
      max_bytes: 2 * 1024 * 1024,
    });
    const refusal = await ensureStreams(jsm, world.config.nats).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StreamMismatchError);
    expect((refusal as StreamMismatchError).differences).toEqual([
      {
        key: 'max_bytes',
        expected: world.config.nats.trackingStream.maxBytes,
        actual: 2 * 1024 * 1024,
      },
    ]);
    expect((await ensureStreams(jsm, world.config.nats, true)).updated).toEqual([`stream ${name}`]);
    expect((await jsm.streams.info(name)).config.max_bytes).toBe(
      world.config.nats.trackingStream.maxBytes,
    );
  });

  it('reuses the services already running instead of starting them again', async () => {
    const nats = await startNats(natsOptions(dataDir(), false));
    const questdb = await startQuestDb(questDbOptions(dataDir()));
    expect([nats.action, questdb.action]).toEqual(['reused', 'reused']);
  });

  it('says clearly when a port is taken by something else', async () => {
    const other = `${dataDir()}-other`;
    await expect(startNats(natsOptions(other, false))).rejects.toThrow(
      `nats: port ${TEST_PORTS.nats} is taken by another process`,
    );
  });
});
