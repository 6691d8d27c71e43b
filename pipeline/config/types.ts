/** The validated configuration. Mirrors schemas/config.schema.json, whose defaults fill every key. */
export interface Config {
  nats: {
    url: string;
    trackingStream: {
      name: string;
      maxAgeDays: number;
      maxBytes: number;
      maxMessageBytes: number;
      duplicateWindowSeconds: number;
      replicas: number;
    };
    deadLetterStream: { name: string; maxAgeDays: number; maxBytes: number; replicas: number };
    consumer: { pullMessages: number; pullBytes: number };
    outputStream: {
      name: string;
      maxAgeDays: number;
      maxBytes: number;
      duplicateWindowSeconds: number;
      replicas: number;
    };
  };
  questdb: {
    host: string;
    httpPort: number;
    pgPort: number;
    user: string;
    password: string;
    requestTimeoutMs: number;
    retryMaxDelayMs: number;
  };
  ingest: {
    batchSize: number;
    batchWaitMs: number;
    maxEventBytes: number;
    maxBatchEvents: number;
    maxFutureSkewSeconds: number;
    storeRawEvents: boolean;
    flushIntervalMs: number;
    maxDepth: number;
    deadLetterPayloadBytes: number;
    idempotency: { horizonSeconds: number; maxIds: number };
  };
  limits: {
    maxClients: number;
    maxNamesPerClient: number;
    maxEventNames: number;
    maxUsersPerClient: number;
  };
  windows: {
    timeZone: string;
    days: number[];
    allowedLatenessSeconds: number;
    ratios: { id: string; a: string; b: string; windowDays: number; perUser: boolean }[];
  };
  rules: {
    playbooks: string[];
    health: string;
    clockTickSeconds: number;
    webhooks: {
      enabled: boolean;
      timeoutMs: number;
      maxDeliveries: number;
      backoffSeconds: number[];
    };
  };
  checkpoint: { intervalSeconds: number; dir?: string };
  services: {
    nats: 'managed' | 'external';
    questdb: 'managed' | 'external';
    dataDir: string;
    cacheDir?: string;
    install: boolean;
    questdbVersion: string;
    questdbIlpPort: number;
    questdbHealthPort: number;
    questdbHeapMb: number;
    natsMonitorPort: number;
  };
  log: { level: string; statsIntervalSeconds: number };
  metrics: { port: number; host: string; readyMaxLagMessages: number; stallSeconds: number };
  demo: {
    clients: number;
    usersPerClient: number;
    historyDays: number;
    ratePerSecond: number;
    invalidRatio: number;
    seed: number;
  };
}
