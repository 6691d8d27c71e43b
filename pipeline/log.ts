/** Structured JSON logs (pino). One root logger; modules take a child with their name. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination: number = 1): Logger {
  return pino(
    { level, base: { app: 'pulso' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination, sync: false }),
  );
}
