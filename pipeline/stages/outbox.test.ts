/** toOutbox: a cut's checkpoint never covers state whose rows the cut does not carry. */
import { firstValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RulesStage } from '../../operators/playbooks/stage.js';
import type { FigureBatch, UsageState } from '../../operators/usage-figures.js';
import type { ClientDirectory } from '../contract/client-directory.js';
import type { CheckpointPolicy } from './checkpoints.js';
import { toOutbox } from './outbox.js';
import type { Folded, Tick } from './units.js';

function folded(seq: number): Folded {
  const figures: FigureBatch = {
    daily: { usage: [], userUsage: [] },
    rolling: [],
    ratios: [],
    lastSeen: [],
    metrics: [],
    tooLate: [],
    refused: [],
    duplicates: 0,
    counted: [],
    watermark: seq,
    boundaries: 0,
    lastSeq: seq,
  };
  return {
    slice: {
      events: [],
      updates: [],
      deadLetters: [],
      messages: 1,
      lastSeq: seq,
      pending: 0,
      fetchStartedAt: Date.now(),
      check: 'none',
      settle: () => undefined,
    },
    figures,
    clients: [],
    outputs: [],
    scores: [],
  };
}

describe('toOutbox', () => {
  it('a tick cut that waited while a slice was folded writes without a checkpoint', async () => {
    const usage = { seq: 0 } as UsageState;
    const pictures: number[] = [];
    const checkpoints = {
      due: () => true,
      cut: (seq: number) => {
        pictures.push(seq);
        return Promise.resolve({ staged: Promise.resolve(new Uint8Array()) });
      },
    } as unknown as CheckpointPolicy;
    let release = () => undefined as void;
    let inFlight = new Promise<void>((r) => (release = r));
    const stage = toOutbox({
      flushIntervalMs: 60_000,
      storeRawEvents: false,
      usage,
      rules: {} as RulesStage,
      directory: {} as ClientDirectory,
      checkpoints,
      afterSeq: 0,
      idle: () => inFlight,
    });
    const input = new Subject<Folded | Tick>();
    const cuts = firstValueFrom(input.pipe(stage.operator, toArray()));

    usage.seq = 1;
    input.next(folded(1));
    input.next({ tick: true }); // its cut waits for the write in flight…
    usage.seq = 2; // …while the next slice is folded (the fold is synchronous)
    input.next(folded(2));
    release();
    inFlight = Promise.resolve();
    await new Promise((r) => setImmediate(r));
    input.complete();

    const got = (await cuts).map((c) => ({
      seq: c.seq,
      written: c.write.lastSeq,
      checkpoint: !!c.checkpoint,
    }));
    expect(got).toEqual([
      { seq: 1, written: 1, checkpoint: false },
      { seq: 2, written: 2, checkpoint: true },
    ]);
    expect(pictures).toEqual([2]);
  });
});
