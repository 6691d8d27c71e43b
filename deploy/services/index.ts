/** Bring up / take down the services the configuration says Pulso manages. */
import { startNats, stopNats } from './nats.js';
import { streamNamesOf } from './nats-roles.js';
import { portOpen, type ServiceReport } from './process.js';
import { answersSql, startQuestDb, stopQuestDb } from './questdb.js';

export type { ServiceReport };
export { ServiceError } from './errors.js';

/** What the service scripts read of Pulso's configuration (its `services`, NATS and QuestDB sections). */
export interface ServicesConfig {
  services: {
    nats: 'managed' | 'external';
    questdb: 'managed' | 'external';
    natsMonitorPort: number;
    natsClusterPort: number;
    questdbIlpPort: number;
    questdbHealthPort: number;
    questdbHeapMb: number;
    questdbVersion: string;
    dataDir: string;
    install: boolean;
    cacheDir?: string;
    natsBind: string;
    questdbBind: string;
  };
  nats: {
    url: string;
    trackingStream: { name: string };
    deadLetterStream: { name: string };
    outputStream: { name: string };
    state: { bucket: string };
  };
  questdb: { host: string; httpPort: number; pgPort: number; user?: string; password?: string };
}

export async function servicesUp(config: ServicesConfig): Promise<ServiceReport[]> {
  const s = config.services;
  const reports: ServiceReport[] = [];
  reports.push(
    s.nats === 'managed'
      ? await startNats({
          url: config.nats.url,
          monitorPort: s.natsMonitorPort,
          clusterPort: s.natsClusterPort,
          dataDir: s.dataDir,
          install: s.install,
          bind: s.natsBind,
          streams: streamNamesOf(config.nats),
        })
      : { service: 'nats', action: 'external', address: config.nats.url },
  );
  const q = config.questdb;
  reports.push(
    s.questdb === 'managed'
      ? await startQuestDb({
          host: q.host,
          bind: s.questdbBind,
          httpPort: q.httpPort,
          pgPort: q.pgPort,
          ilpPort: s.questdbIlpPort,
          healthPort: s.questdbHealthPort,
          heapMb: s.questdbHeapMb,
          version: s.questdbVersion,
          dataDir: s.dataDir,
          install: s.install,
          ...(s.cacheDir ? { cacheDir: s.cacheDir } : {}),
        })
      : { service: 'questdb', action: 'external', address: `http://${q.host}:${q.httpPort}` },
  );
  return reports;
}

export async function servicesDown(config: ServicesConfig): Promise<string[]> {
  return [await stopQuestDb(config.services.dataDir), await stopNats(config.services.dataDir)];
}

const credentialsOf = (q: ServicesConfig['questdb']) =>
  q.user !== undefined && q.password !== undefined
    ? { user: q.user, password: q.password }
    : undefined;

export async function servicesStatus(config: ServicesConfig): Promise<Record<string, string>> {
  const natsPort = Number(new URL(config.nats.url.replace(/^(nats|tls):/, 'http:')).port || 4222);
  return {
    nats: `${config.nats.url} ${(await portOpen(natsPort)) ? 'reachable' : 'not reachable'} (${config.services.nats})`,
    questdb: `http://${config.questdb.host}:${config.questdb.httpPort} ${(await answersSql(config.questdb.host, config.questdb.httpPort, credentialsOf(config.questdb))) ? 'answers SQL' : 'not answering'} (${config.services.questdb})`,
  };
}
