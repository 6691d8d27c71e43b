/**
 * Outputs published with many acknowledgements in flight (acked-publisher.ts), against the
 * test NATS as the pipeline role: each resolves once the stream holds it, a duplicate id is
 * held once, and what JetStream cannot take is a rejection, never a silent loss.
 */
import { headers as natsHeaders } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckedPublisher } from '../../pipeline/adapters/nats/acked-publisher.js';
import { inboxPrefixOf } from '../../pipeline/adapters/nats/connect.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import { World } from '../support/world.js';

const enc = new TextEncoder();

describe('AckedPublisher', () => {
  const world = new World();
  let acks: AckedPublisher;
  beforeAll(async () => {
    await world.open();
    await world.reset();
    await ensureStreams(await world.nc.jetstreamManager(), world.config.nats);
    acks = new AckedPublisher(world.pipelineNc, inboxPrefixOf('pipeline'), 2000);
  });
  afterAll(async () => {
    acks.close();
    await world.close();
  });

  it('20,000 in flight: every one acknowledged once the stream holds it; a repeated id is held once', async () => {
    const jsm = await world.nc.jetstreamManager();
    const stream = world.config.nats.outputStream.name;
    const before = (await jsm.streams.info(stream)).state.messages;
    const sent = Array.from({ length: 20_000 }, (_, i) => {
      const h = natsHeaders();
      h.set('Pulso-At', String(i));
      return acks.publish(`cs.test.acked.${i % 7}`, enc.encode(`{"n":${i}}`), {
        msgID: `acked-${i}`,
        headers: h,
      });
    });
    expect(acks.inFlight).toBeGreaterThan(0);
    await Promise.all(sent);
    expect(acks.inFlight).toBe(0);
    // Again, the same ids: acknowledged (as duplicates), nothing added.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        acks.publish(`cs.test.acked.${i % 7}`, enc.encode(`{"n":${i}}`), { msgID: `acked-${i}` }),
      ),
    );
    expect((await jsm.streams.info(stream)).state.messages - before).toBe(20_000);
    const m = await jsm.streams.getMessage(stream, { last_by_subj: 'cs.test.acked.6' });
    expect(m.header.get('Nats-Msg-Id')).toBe('acked-19998');
  });

  it("a publish nobody acknowledges (outside the role's permissions) fails at its deadline", async () => {
    const t0 = Date.now();
    const refused = await acks
      .publish('cs', enc.encode('{}'), { msgID: 'nowhere-1' })
      .catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/no acknowledgement within 2000 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(acks.inFlight).toBe(0);
  });
});
