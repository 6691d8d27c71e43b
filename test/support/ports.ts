/** Ports and folders of the test services: their own, so tests never meet a running Pulso. */
export const TEST_PORTS = {
  nats: 24222,
  natsMonitor: 28222,
  questdbHttp: 29000,
  questdbPg: 28812,
  questdbIlp: 29009,
  questdbHealth: 29003,
};

/** The stream names the test NATS's role permissions name: the configuration's defaults. */
export const TEST_STREAMS = {
  tracking: 'PULSO_TRACKING',
  deadLetters: 'PULSO_DLQ',
  outputs: 'PULSO_CS',
  state: 'pulso',
};

/** The test's 3-node NATS cluster (cluster.test.ts): client, monitoring and route ports. */
export const TEST_CLUSTER_PORTS = {
  nats: [24231, 24232, 24233],
  monitor: 28231,
  route: 26231,
};
