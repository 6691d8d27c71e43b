import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigErrors, ConfigError } from '../errors.js';
import { envNameToPointer, loadConfig } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'pulso-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function refusal(fn: () => unknown): ConfigError[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors;
    if (e instanceof ConfigError) return [e];
    throw e;
  }
  throw new Error('configuration was accepted');
}

describe('loadConfig', () => {
  it('fills every key with its default', () => {
    const c = loadConfig({ env: {} });
    expect(c.nats.url).toBe('nats://127.0.0.1:14222');
    expect(c.nats.trackingStream.maxAgeDays).toBe(40);
    expect(c.ingest.batchSize).toBe(1000);
    expect(c.services.nats).toBe('managed');
  });

  it('reads YAML, then environment variables over it', () => {
    const p = file('ok.yaml', 'ingest:\n  batchSize: 500\nquestdb:\n  httpPort: 9000\n');
    const c = loadConfig({
      file: p,
      env: { PULSO_INGEST__BATCH_SIZE: '250', PULSO_LOG__LEVEL: 'warn' },
    });
    expect(c.ingest.batchSize).toBe(250);
    expect(c.questdb.httpPort).toBe(9000);
    expect(c.log.level).toBe('warn');
  });

  it('NATS_URL names an external server that Pulso does not start', () => {
    const c = loadConfig({ env: { NATS_URL: 'nats://10.0.0.5:4222' } });
    expect(c.nats.url).toBe('nats://10.0.0.5:4222');
    expect(c.services.nats).toBe('external');
  });

  it('refuses a bad value naming the file, the path and what was expected', () => {
    const p = file('bad.yaml', 'nats:\n  consumer:\n    pullMessages: soon\n');
    const [e] = refusal(() => loadConfig({ file: p, env: {} }));
    expect(e!.source).toBe(p);
    expect(e!.path).toBe('/nats/consumer/pullMessages');
    expect(e!.message).toContain('expected type integer, got string');
  });

  it('refuses an unknown key, listing the allowed ones', () => {
    const p = file('typo.yaml', 'ingest:\n  batchSise: 10\n');
    const [e] = refusal(() => loadConfig({ file: p, env: {} }));
    expect(e!.path).toBe('/ingest/batchSise');
    expect(e!.expected).toMatch(/no such field \(allowed: batchSize, /);
  });

  it('refuses an unknown time zone, and takes lists from the environment as JSON', () => {
    const [e] = refusal(() =>
      loadConfig({ env: { PULSO_WINDOWS__TIME_ZONE: 'America/Sao_Paolo' } }),
    );
    expect(e!.path).toBe('/windows/timeZone');
    expect(e!.source).toBe('environment PULSO_WINDOWS__TIME_ZONE');
    expect(loadConfig({ env: { PULSO_WINDOWS__DAYS: '[1,7,30,90]' } }).windows.days).toEqual([
      1, 7, 30, 90,
    ]);
  });

  it('names the environment variable that set a bad value', () => {
    const [e] = refusal(() => loadConfig({ env: { PULSO_INGEST__BATCH_SIZE: '-3' } }));
    expect(e!.source).toBe('environment PULSO_INGEST__BATCH_SIZE');
    expect(e!.path).toBe('/ingest/batchSize');
    expect(e!.expected).toBe('a number >= 1');
  });

  it('refuses an unknown environment key and an unreadable or malformed file', () => {
    expect(refusal(() => loadConfig({ env: { PULSO_NOPE__X: '1' } }))[0]!.path).toBe('/nope');
    expect(
      refusal(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }))[0]!.expected,
    ).toBe('a readable configuration file');
    const p = file('broken.yaml', 'ingest: [1,\n');
    expect(refusal(() => loadConfig({ file: p, env: {} }))[0]!.expected).toMatch(
      /valid YAML or JSON/,
    );
  });

  it('reports every problem at once', () => {
    const p = file('many.yaml', 'ingest:\n  batchSize: 0\nquestdb:\n  httpPort: 70000\n');
    expect(
      refusal(() => loadConfig({ file: p, env: {} }))
        .map((e) => e.path)
        .sort(),
    ).toEqual(['/ingest/batchSize', '/questdb/httpPort']);
  });

  it('maps environment names onto the schema spelling', () => {
    expect(envNameToPointer('PULSO_NATS__TRACKING_STREAM__MAX_AGE_DAYS')).toBe(
      '/nats/trackingStream/maxAgeDays',
    );
    expect(envNameToPointer('PULSO_BAD___X')).toBeUndefined();
  });
});
