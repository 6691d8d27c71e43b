/**
 * Starts one NATS and one QuestDB for the integration tests with the project's own code
 * (deploy/services), on the test ports and in a fresh folder, and stops them at the end.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startNats, stopNats } from '../../deploy/services/nats.js';
import { startQuestDb, stopQuestDb } from '../../deploy/services/questdb.js';
import { TEST_PORTS, TEST_STREAMS } from './ports.js';

export function questDbOptions(dataDir: string) {
  return {
    host: '127.0.0.1',
    bind: '127.0.0.1',
    httpPort: TEST_PORTS.questdbHttp,
    pgPort: TEST_PORTS.questdbPg,
    ilpPort: TEST_PORTS.questdbIlp,
    healthPort: TEST_PORTS.questdbHealth,
    heapMb: 1024,
    version: '9.3.4',
    dataDir,
    install: true,
  };
}

export function natsOptions(dataDir: string, install = true) {
  return {
    url: `nats://127.0.0.1:${TEST_PORTS.nats}`,
    monitorPort: TEST_PORTS.natsMonitor,
    dataDir,
    install,
    bind: '127.0.0.1',
    streams: TEST_STREAMS,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A fixed folder: services left behind by a run that was killed are found and stopped.
  const dataDir = join(tmpdir(), 'pulso-test-services');
  const stop = async () => {
    await stopQuestDb(dataDir).catch(() => undefined);
    await stopNats(dataDir).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  await stop();
  mkdirSync(dataDir, { recursive: true });
  try {
    await startNats(natsOptions(dataDir));
    await startQuestDb(questDbOptions(dataDir));
  } catch (e) {
    await stop();
    throw e;
  }
  project.provide('pulsoDataDir', dataDir);
  return stop;
}
