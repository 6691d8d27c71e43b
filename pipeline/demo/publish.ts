/**
 * Publishes the demo stream: client attributes, `historyDays` of past activity as JSON
 * batches, then live events at a steady rate until stopped.
 */
import { connectAs } from '../adapters/nats/connect.js';
import { createKey, keysFileOf } from '../adapters/http/write-keys.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { demoClients, demoDay, demoEvent, demoInvalid, isActive, rng } from './stream.js';

export interface DemoOptions {
  config: Config;
  log: Logger;
  signal: AbortSignal;
  /** Seconds of live traffic; undefined runs until the signal aborts. */
  durationSeconds?: number;
}

const enc = new TextEncoder();

export async function runDemo({
  config,
  log,
  signal,
  durationSeconds,
}: DemoOptions): Promise<{ published: number; invalid: number }> {
  const d = config.demo;
  const nc = await connectAs(config, 'publisher', { name: 'pulso-demo' });
  const js = nc.jetstream();
  // Made first: the gateway reads a new key within a second, before the live events start.
  const send = liveSender(config, (data) =>
    js.publish('tracking.events.demo', data).then(() => true),
  );
  const now = Date.now();
  const clients = demoClients(
    d.clients,
    d.usersPerClient,
    d.seed,
    now - (d.historyDays + 1) * 86_400_000,
  );
  let published = 0;
  let invalid = 0;
  try {
    const ack = await js.publish(
      'tracking.clients',
      enc.encode(JSON.stringify(clients.map((c) => c.update))),
    );
    log.info({ clients: clients.length }, 'demo: client attributes published');

    // Event time is final once the watermark passes it: history published after live
    // events would all be too late, so a stream that already holds events keeps its own.
    // (The acknowledgement's sequence says how much it held: a producer may not ask.)
    const held = ack.seq - 1;
    const historyDays = held > 0 ? 0 : d.historyDays;
    if (historyDays === 0)
      log.info({ held }, 'demo: the stream already holds history; publishing live events only');
    for (let daysAgo = historyDays - 1; daysAgo >= 0 && !signal.aborted; daysAgo--) {
      const events = demoDay(clients, now, daysAgo, d.seed);
      for (let i = 0; i < events.length; i += 500) {
        await js.publish(
          'tracking.events.demo',
          enc.encode(JSON.stringify(events.slice(i, i + 500))),
        );
      }
      published += events.length;
    }
    log.info(
      { events: published, days: historyDays },
      'demo: history published; live stream starts',
    );

    const r = rng(d.seed + 7);
    const active = clients.filter(isActive);
    const end = durationSeconds === undefined ? Infinity : Date.now() + durationSeconds * 1000;
    const tick = 100;
    const perTick = d.ratePerSecond / (1000 / tick);
    let carry = 0;
    let seq = 0;
    while (!signal.aborted && Date.now() < end) {
      carry += perTick;
      for (; carry >= 1; carry--) {
        if (r() < d.invalidRatio) {
          await send(enc.encode(demoInvalid(r, Date.now())));
          invalid++;
        } else {
          const c = active[Math.floor(r() * active.length)]!;
          if (await send(enc.encode(JSON.stringify(demoEvent(r, c, Date.now(), seq++)))))
            published++;
        }
      }
      await new Promise((res) => setTimeout(res, tick));
    }
  } finally {
    await nc.drain();
  }
  log.info({ published, invalid }, 'demo: stopped');
  return { published, invalid };
}

/**
 * How live events travel: to NATS, or (`demo.via: gateway`) as POSTs to the gateway's native
 * API with a write key made for the source "demo". Resolves whether the event was accepted.
 */
function liveSender(
  config: Config,
  toNats: (data: Uint8Array) => Promise<boolean>,
): (data: Uint8Array) => Promise<boolean> {
  if (config.demo.via !== 'gateway') return toNats;
  const { key } = createKey(keysFileOf(config), 'demo');
  const url = `http://${config.gateway.host}:${config.gateway.port}/v1/events`;
  return async (data) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: data,
    }).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200;
  };
}
