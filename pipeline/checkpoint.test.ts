import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ev, spec } from '../test/fixtures/events.js';
import { UsageState } from '../operators/usage-figures.js';
import { ClientDirectory } from './contract/client-directory.js';
import { CheckpointStore } from './checkpoint.js';

describe('CheckpointStore', () => {
  it('saves in its writer thread and loads back the same state, attributes included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-ckpt-'));
    const usage = new UsageState(spec('UTC'));
    usage.apply({
      events: [
        ev('2026-11-01T10:00:00Z', 'acme', 'tela:x'),
        { ...ev('2026-11-01T11:00:00Z', 'acme'), eventId: 'p-1' },
      ],
      lastSeq: 2,
    });
    const directory = new ClientDirectory();
    directory.apply({
      updateId: 'u1',
      ts: Date.parse('2026-11-01T00:00:00Z'),
      clientId: 'acme',
      fields: { status: 'active', csm: 'ana' },
      attributes: { seats: 5 },
      receivedAt: 0,
      streamSeq: 1,
      index: 0,
      subject: 'tracking.clients',
    });
    const want = structuredClone({ usage: usage.snapshot(), clients: directory.snapshot() });
    const store = new CheckpointStore(dir, 'fp');
    const picture = await usage.snapshotInSteps(() => new Promise((r) => setImmediate(r)));
    const bytes = await store.save(
      store.stage(store.prepare(2, picture, undefined, directory.snapshot())),
    );
    expect(bytes).toBeGreaterThan(0);
    await store.close();
    const loaded = await new CheckpointStore(dir, 'fp').load();
    expect('state' in loaded && loaded.seq).toBe(2);
    if (!('state' in loaded)) throw new Error(loaded.missing);
    expect(loaded.state).toEqual(want.usage);
    expect(loaded.clients).toEqual(want.clients);
    // Restored, it decides as the original: p-1 is a duplicate.
    const again = new UsageState(spec('UTC'), loaded.state);
    expect(
      again.apply({
        events: [{ ...ev('2026-11-01T11:00:00Z', 'acme'), eventId: 'p-1' }],
        lastSeq: 3,
      }).duplicates,
    ).toBe(1);
    expect(await new CheckpointStore(dir, 'other').load()).toEqual({
      missing: 'the window settings changed since the checkpoint was taken',
    });
  });

  it("a checkpoint of a tracking stream since created anew is not used (its sequences are not the new one's)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-ckpt-'));
    const usage = new UsageState(spec('UTC'));
    const store = new CheckpointStore(dir, 'fp', 'test', 'PULSO_TRACKING@2026-11-01T00:00:00Z');
    await store.save(store.stage(store.prepare(7, usage.snapshot())));
    await store.close();
    const same = await new CheckpointStore(
      dir,
      'fp',
      'test',
      'PULSO_TRACKING@2026-11-01T00:00:00Z',
    ).load();
    expect('state' in same && same.seq).toBe(7);
    expect(
      await new CheckpointStore(dir, 'fp', 'test', 'PULSO_TRACKING@2026-12-01T09:00:00Z').load(),
    ).toEqual({ missing: 'the tracking stream was created anew since the checkpoint was taken' });
  });

  it('the picture is the state at the cut: what is folded afterwards never leaks into it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-ckpt-'));
    const metric = (ts: string, value: number) => ({
      ...ev(ts, 'acme', 'metrica:volume_vendas', { value }),
      kind: 'metric' as const,
    });
    const usage = new UsageState(spec('UTC'));
    usage.apply({ events: [metric('2026-11-01T10:00:00Z', 5)], lastSeq: 1 });
    const want = structuredClone(usage.snapshot());
    const store = new CheckpointStore(dir, 'fp');
    const staged = store.stage(
      store.prepare(1, await usage.snapshotInSteps(() => new Promise((r) => setImmediate(r)))),
    );
    // The pipeline folds on while the write the checkpoint covers is in flight.
    usage.apply({ events: [metric('2026-11-01T11:00:00Z', 7)], lastSeq: 2 });
    await store.save(staged);
    await store.close();
    const loaded = await new CheckpointStore(dir, 'fp').load();
    if (!('state' in loaded)) throw new Error(loaded.missing);
    expect(loaded.state).toEqual(want);
  });

  it('a save into a directory that cannot be written fails with the reason', async () => {
    const store = new CheckpointStore('/etc/hostname/state', 'fp');
    const usage = new UsageState(spec('UTC'));
    await expect(store.save(store.stage(store.prepare(1, usage.snapshot())))).rejects.toThrow(
      /ENOTDIR/,
    );
    await expect(store.checkWritable()).rejects.toThrow(
      /\/checkpoint\/dir: expected a directory Pulso can create and write/,
    );
    await store.close();
  });
});
