/**
 * Connections to NATS, each as one role (the README's Security section): the credentials
 * the configuration names for the role, else the nkey seed Pulso generated for it in
 * services.dataDir, else none (a server without authorization). TLS when configured.
 */
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from 'nats';
import { Subject } from 'rxjs';
import { inboxPrefixOf, seedFileOf, type Role } from '../../../deploy/services/nats-roles.js';
import { natsDirOf, natsUrlsOf } from '../../../deploy/services/nats.js';
import { originOf } from '../../config/load.js';
import type { Config } from '../../config/types.js';
import { ConfigError, ServiceError } from '../../errors.js';
import type { Logger } from '../../log.js';

export type { Role };
export { inboxPrefixOf };

type NatsSection = Config;

/** What nats.js needs to connect as `role` (credentials read now, from their files). */
export function natsOptions(c: NatsSection, role: Role, name = `pulso-${role}`): ConnectionOptions {
  // Every seed URL of a cluster: the client fails over between them.
  const o: ConnectionOptions = {
    servers: natsUrlsOf(c.nats.url),
    name,
    inboxPrefix: inboxPrefixOf(role),
    // Otherwise every request (each JetStream publish) captures two stack traces up front:
    // that cost more than the publish itself. Pulso's own errors say what timed out.
    noAsyncTraces: true,
  };
  const a = c.nats.auth[role];
  const read = (file: string, key: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(
        originOf(c, `/nats/auth/${role}/${key}`),
        `/nats/auth/${role}/${key}`,
        'a readable file',
        `${file}: ${(e as Error).message}`,
      );
    }
  };
  if (a?.user !== undefined) Object.assign(o, { user: a.user, pass: a.password });
  else if (a?.token !== undefined) o.token = a.token;
  else if (a?.seedFile !== undefined)
    o.authenticator = nkeyAuthenticator(trimmed(read(a.seedFile, 'seedFile')));
  else if (a?.credsFile !== undefined)
    o.authenticator = credsAuthenticator(read(a.credsFile, 'credsFile'));
  else {
    const generated = seedFileOf(natsDirOf(c.services.dataDir), role);
    let seed: Uint8Array | undefined;
    try {
      seed = trimmed(readFileSync(generated));
    } catch {
      seed = undefined; // none generated here: a server without authorization
    }
    if (seed) o.authenticator = nkeyAuthenticator(seed);
  }
  const t = c.nats.tls;
  if (t)
    o.tls = {
      ...(t.caFile ? { caFile: t.caFile } : {}),
      ...(t.certFile ? { certFile: t.certFile } : {}),
      ...(t.keyFile ? { keyFile: t.keyFile } : {}),
    };
  return o;
}

function trimmed(b: Uint8Array): Uint8Array {
  return new TextEncoder().encode(new TextDecoder().decode(b).trim());
}

/** Connects as `role`, or says clearly why not. */
export async function connectAs(
  c: NatsSection,
  role: Role,
  options: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  try {
    return await connect({ ...natsOptions(c, role), ...options });
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const why = (cause as Error).message;
    throw new ServiceError(
      'nats',
      /auth/i.test(why)
        ? `NATS at ${c.nats.url} refused the ${role} credentials (${why}); see nats.auth.${role}`
        : `cannot connect to ${c.nats.url} as ${role} (is it running? \`pulso services up\` starts one)`,
      { role },
      { cause },
    );
  }
}

export interface PipelineConnection {
  nc: NatsConnection;
  /**
   * Errors when the connection is lost (on a cluster: not back within the failover grace).
   * A lost connection ends the run rather than trusting the reading to resume: the restart
   * (by the supervisor, or by hand) resumes exactly from the last checkpoint.
   */
  lost$: Subject<never>;
}

export async function connectNats(c: NatsSection, log: Logger): Promise<PipelineConnection> {
  const lost$ = new Subject<never>();
  const nc = await connectAs(c, 'pipeline', {
    name: 'pulso-pipeline',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  // One server: its loss ends the run at once. A cluster: the client fails over to another
  // node, and the run goes on if it is connected again within the grace.
  const graceMs = natsUrlsOf(c.nats.url).length > 1 ? CLUSTER_FAILOVER_GRACE_MS : 0;
  let pending: NodeJS.Timeout | undefined;
  const lose = (server: string) =>
    lost$.error(
      new ServiceError(
        'nats',
        `connection to ${server} lost${graceMs > 0 ? ` and not back within ${graceMs / 1000} s` : ''}; a restart resumes from the last checkpoint`,
        {},
      ),
    );
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        log.warn({ status: s.type, server: s.data }, 'NATS connection');
      if (s.type === 'error')
        log.warn({ err: String(s.data) }, 'NATS refused an operation (permissions?)');
      if (s.type === 'disconnect') {
        if (graceMs === 0) lose(String(s.data));
        else pending ??= setTimeout(() => lose(String(s.data)), graceMs).unref();
      }
      if (s.type === 'reconnect') {
        clearTimeout(pending);
        pending = undefined;
      }
    }
  })().catch(() => undefined); // the status iterator ends when the connection closes
  return { nc, lost$ };
}

/** How long a worker on a NATS cluster waits to be connected to another node. */
const CLUSTER_FAILOVER_GRACE_MS = 30_000;
