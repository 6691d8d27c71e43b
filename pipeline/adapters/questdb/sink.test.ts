/**
 * The sink against a local HTTP server answering as QuestDB's /write does: writes that
 * come together go in one request, in order, and each resolves once it is accepted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config/types.js';
import { createLogger } from '../../log.js';
import { QuestDbSink, type SinkBatch } from './sink.js';

const batch = (text: string): SinkBatch => ({
  bodies: [Buffer.from(text)],
  rows: text.split('\n').length - 1,
  figureRows: 0,
});

describe('QuestDbSink', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function serve(
    answer: (body: string) => number,
  ): Promise<{ bodies: string[]; c: Config['questdb'] }> {
    const bodies: string[] = [];
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        bodies.push(body);
        // Slow enough that later writes queue behind the first request.
        setTimeout(() => {
          res.statusCode = answer(body);
          res.end();
        }, 50);
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const c = {
      host: '127.0.0.1',
      httpPort: port,
      user: 'u',
      password: 'p',
      requestTimeoutMs: 5000,
      retryMaxDelayMs: 100,
    } as Config['questdb'];
    return { bodies, c };
  }

  it('writes of one turn go in one request, in order; those that come meanwhile, in the next', async () => {
    const { bodies, c } = await serve(() => 204);
    const sink = new QuestDbSink(c, createLogger('silent'));
    const first = [
      sink.write(batch('a 1\n')),
      sink.write(batch('b 2\n')),
      sink.write(batch('c 3\n')),
    ];
    await new Promise((r) => setTimeout(r, 10)); // the first request is in flight
    const later = [sink.write(batch('d 4\n')), sink.write(batch('e 5\n'))];
    await Promise.all([...first, ...later]);
    expect(bodies).toEqual(['a 1\nb 2\nc 3\n', 'd 4\ne 5\n']);
  });

  it('a refused request is retried whole: every write in it resolves only once it is accepted', async () => {
    let refusals = 2;
    const { bodies, c } = await serve(() => (refusals-- > 0 ? 503 : 204));
    const sink = new QuestDbSink(c, createLogger('silent'));
    let settled = 0;
    const writes = [sink.write(batch('a 1\n')), sink.write(batch('b 2\n'))].map((p) =>
      p.then(() => settled++),
    );
    await new Promise((r) => setTimeout(r, 80));
    expect(settled).toBe(0);
    await Promise.all(writes);
    expect(bodies).toEqual(['a 1\nb 2\n', 'a 1\nb 2\n', 'a 1\nb 2\n']);
  });
});
