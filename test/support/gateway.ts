/**
 * For a describe block of gateway tests: a fresh world, a gateway on a free port with the
 * given keys file, and the real pipeline behind it — all stopped after the block.
 */
import { afterAll, beforeAll } from 'vitest';
import { startGateway, type Gateway } from '../../pipeline/adapters/http/gateway.js';
import { ensureStreams } from '../../pipeline/adapters/nats/streams.js';
import type { Config } from '../../pipeline/config/types.js';
import { createLogger } from '../../pipeline/log.js';
import { PipelineProcess, World } from './world.js';

export interface GatewayWorld {
  world: World;
  gateway: Gateway;
  pipeline: PipelineProcess;
}

export function gatewayWorld(
  keysFile: string,
  gateway: Partial<Config['gateway']> = {},
  before?: () => Promise<void> | void,
): GatewayWorld {
  const g = { world: new World() } as GatewayWorld;
  beforeAll(async () => {
    await before?.();
    await g.world.open();
    await g.world.reset();
    await ensureStreams(await g.world.nc.jetstreamManager(), g.world.config.nats);
    g.gateway = await startGateway(
      { ...g.world.config, gateway: { ...g.world.config.gateway, port: 0, ...gateway } },
      keysFile,
      createLogger('silent'),
    );
    g.pipeline = new PipelineProcess().start();
    await g.pipeline.untilLog('pipeline running');
  }, 600_000);
  afterAll(async () => {
    await g.pipeline?.kill('SIGKILL');
    await g.gateway?.close();
    await g.world.close();
  });
  return g;
}
