/**
 * A catch-all HTTP receiver for the demo: it answers 204 to every POST on its port
 * (loopback) and keeps each body as a JSON file in its folder — where the demo's CSM
 * notifications (and digests sent by `pulso digest`) land, for a newcomer to read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ServiceError } from './errors.js';

export interface Receiver {
  readonly url: string;
  received: number;
  stop(): Promise<void>;
}

export async function startReceiver(o: {
  host: string;
  port: number;
  dir: string;
  maxBytes?: number;
}): Promise<Receiver> {
  mkdirSync(o.dir, { recursive: true });
  const max = o.maxBytes ?? 1024 * 1024;
  const state = { received: 0 };
  const server = createServer((req, res) => {
    // A sender killed mid-request resets its connection: nothing to answer, nothing to crash.
    req.on('error', () => undefined);
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => {
      if (size > max) return void res.writeHead(413).end();
      const n = ++state.received;
      const name =
        (req.url ?? '/').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || 'post';
      writeFileSync(
        join(o.dir, `${String(n).padStart(6, '0')}-${name}.json`),
        Buffer.concat(chunks),
      );
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error) =>
      reject(new ServiceError('receiver', `HTTP receiver on ${o.host}:${o.port}: ${e.message}`)),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    url: `http://${o.host}:${o.port}`,
    get received() {
      return state.received;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
