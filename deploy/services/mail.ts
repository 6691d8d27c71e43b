/**
 * A catch-all SMTP server for the demo and the tests: it accepts every message on its port
 * (loopback by default), whoever the sender and recipients, and keeps each one as an .eml
 * file in its folder — so a newcomer running `npm start` can open the e-mails the playbooks
 * sent. It relays nothing anywhere.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { ServiceError } from './errors.js';

export interface MailCatcherOptions {
  host: string;
  port: number;
  /** Where each received message is written, as <n>-<time>.eml. */
  dir: string;
  /** Largest message accepted, bytes. */
  maxBytes?: number;
  onMessage?: (file: string, envelope: { from: string; to: string[] }) => void;
}

export interface MailCatcher {
  readonly port: number;
  received: number;
  stop(): Promise<void>;
}

export async function startMailCatcher(o: MailCatcherOptions): Promise<MailCatcher> {
  mkdirSync(o.dir, { recursive: true });
  const maxBytes = o.maxBytes ?? 10 * 1024 * 1024;
  const catcher = { received: 0 } as { received: number; port: number };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: maxBytes,
    banner: 'Pulso catch-all (nothing is relayed)',
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded)
          return callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
        const n = ++catcher.received;
        const file = join(o.dir, `${String(n).padStart(6, '0')}-${Date.now()}.eml`);
        writeFileSync(file, Buffer.concat(chunks));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        o.onMessage?.(file, { from, to: session.envelope.rcptTo.map((r) => r.address) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error) =>
      reject(new ServiceError('mail', `SMTP catch-all on ${o.host}:${o.port}: ${e.message}`)),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  server.on('error', () => undefined);
  const address = server.server.address();
  catcher.port = typeof address === 'object' && address ? address.port : o.port;
  return {
    get port() {
      return catcher.port;
    },
    get received() {
      return catcher.received;
    },
    set received(n: number) {
      catcher.received = n;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
