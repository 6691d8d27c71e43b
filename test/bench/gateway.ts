/**
 * The gateway phase: accepted events/s through the HTTP gateway (autocannon as the load
 * generator) for single-event Segment calls and for 100-event batches, with request latency,
 * next to the ceiling measured in the same run — the same events published straight to
 * JetStream with acknowledgements, as many in flight as the gateway gets.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { NatsConnection } from 'nats';
import { startGateway } from '../../pipeline/adapters/http/gateway.js';
import { createKey } from '../../pipeline/adapters/http/write-keys.js';
import type { Config } from '../../pipeline/config/types.js';
import { createLogger } from '../../pipeline/log.js';

export interface GatewayFigures {
  singleRate: number;
  singleP50: number;
  singleP99: number;
  batchRate: number;
  batchP50: number;
  batchP99: number;
  /** The same events straight to JetStream: one per message, and 100 per message. */
  ceiling: number;
  batchCeiling: number;
}

const CONNECTIONS = 64;
/** 100-event batches sent (and 100-event messages of the ceiling): about 10 s of work. */
const BATCHES = 3000;

/**
 * Events/s of publishing `n` messages of `perMessage` events each to JetStream, CONNECTIONS
 * acknowledgements in flight.
 */
async function jetStreamCeiling(
  nc: NatsConnection,
  n: number,
  perMessage: number,
): Promise<number> {
  const js = nc.jetstream();
  const body = new TextEncoder().encode(
    JSON.stringify(
      Array.from({ length: perMessage }, (_, i) => ({
        kind: 'action',
        name: 'acao:relatorio_emitido',
        client_id: `c${i % 100}`,
        user_id: `u${i % 500}`,
      })),
    ),
  );
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < n) {
        next++;
        await js.publish('tracking.events.ceiling', body);
      }
    }),
  );
  return (n * perMessage) / ((performance.now() - t0) / 1000);
}

export async function benchGateway(
  config: Config,
  publisher: NatsConnection,
  requests: number,
): Promise<GatewayFigures> {
  const keysFile = join(mkdtempSync(join(tmpdir(), 'pulso-bench-gw-')), 'keys.json');
  const { key } = createKey(keysFile, 'bench');
  const gateway = await startGateway(
    { ...config, gateway: { ...config.gateway, port: 0, ratePerKey: 1_000_000 } },
    keysFile,
    createLogger('silent'),
    publisher,
  );
  const headers = {
    'content-type': 'application/json',
    authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
  };
  const call = (i: number) => ({
    type: 'track',
    userId: `u${i % 500}`,
    event: 'Relatório Emitido',
    context: { groupId: `c${i % 100}` },
  });
  /** The run's result and its wall time (s), measured here: autocannon's is whole seconds. */
  const run = async (path: string, body: string, amount: number) => {
    const t0 = performance.now();
    const r = await autocannon({
      url: `${gateway.url}${path}`,
      connections: CONNECTIONS,
      amount,
      method: 'POST',
      headers,
      body,
    });
    return Object.assign(r, { seconds: (performance.now() - t0) / 1000 });
  };
  try {
    const ceiling = await jetStreamCeiling(publisher, requests, 1);
    const batchCeiling = await jetStreamCeiling(publisher, BATCHES, 100);
    const single = await run('/v1/track', JSON.stringify(call(1)), requests);
    const batchBody = JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => call(i)) });
    const batch = await run('/v1/batch', batchBody, BATCHES);
    const rate = (r: autocannon.Result & { seconds: number }, perRequest: number) =>
      (r['2xx'] * perRequest) / r.seconds;
    return {
      singleRate: rate(single, 1),
      singleP50: single.latency.p50,
      singleP99: single.latency.p99,
      batchRate: rate(batch, 100),
      batchP50: batch.latency.p50,
      batchP99: batch.latency.p99,
      ceiling,
      batchCeiling,
    };
  } finally {
    await gateway.close();
  }
}
