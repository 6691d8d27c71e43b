/**
 * The operations endpoints, on `metrics.host:metrics.port` (Fastify):
 *
 *   GET /metrics   Prometheus text: the pipeline's figures and the process's own (prom-client's
 *                  default metrics: event-loop lag, RSS, heap, GC)
 *   GET /healthz   200 while the process runs and its event loop answers (liveness)
 *   GET /readyz    200 when every readiness check passes, else 503; the body lists each check
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Check {
  ok: boolean;
  detail: string;
}

/** The readiness checks, evaluated on each request. */
export type ReadinessChecks = () => Record<string, Check>;

export async function serveOps(
  registry: Registry,
  readiness: ReadinessChecks,
  host: string,
  port: number,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) =>
    reply.header('Content-Type', registry.contentType).send(await registry.metrics()),
  );
  app.get('/healthz', async () => ({ status: 'alive', pid: process.pid }));
  app.get('/readyz', async (_req, reply) => {
    const checks = readiness();
    const ready = Object.values(checks).every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  await app.listen({ host, port });
  return app;
}
