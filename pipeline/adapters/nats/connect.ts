/** The pipeline's NATS connection. */
import { connect, type NatsConnection } from 'nats';
import { Subject } from 'rxjs';
import { ServiceError } from '../../errors.js';
import type { Logger } from '../../log.js';

export interface PipelineConnection {
  nc: NatsConnection;
  /**
   * Errors when the connection is lost. A lost connection ends the run rather than
   * trusting the reading to resume: the restart (by the supervisor, or by hand) resumes
   * exactly from the last checkpoint.
   */
  lost$: Subject<never>;
}

export async function connectNats(url: string, log: Logger): Promise<PipelineConnection> {
  const lost$ = new Subject<never>();
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url,
      name: 'pulso-pipeline',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (cause) {
    throw new ServiceError(
      'nats',
      `cannot connect to ${url} (is it running? \`pulso services up\` starts one)`,
      {},
      { cause },
    );
  }
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        log.warn({ status: s.type, server: s.data }, 'NATS connection');
      if (s.type === 'disconnect')
        lost$.error(
          new ServiceError(
            'nats',
            `connection to ${String(s.data)} lost; a restart resumes from the last checkpoint`,
            {},
          ),
        );
    }
  })().catch(() => undefined); // the status iterator ends when the connection closes
  return { nc, lost$ };
}
