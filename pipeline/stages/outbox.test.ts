/** toOutbox: a cut's checkpoint never covers state whose rows the cut does not carry. */
import { firstValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { firingOf, tagOutput, type Output } from '../../operators/playbooks/outputs.js';
import type { RulesStage } from '../../operators/playbooks/stage.js';
import type { FigureBatch, UsageState } from '../../operators/usage-figures.js';
import type { ClientDirectory } from '../contract/client-directory.js';
import type { CheckpointPolicy } from './checkpoints.js';
import { OUTPUTS_PER_WRITE, toOutbox } from './outbox.js';
import type { Folded, Tick } from './units.js';

function folded(seq: number, outputs: Output[] = []): Folded {
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
      userUpdates: [],
      taskUpdates: [],
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
    users: [],
    outputs,
    scores: [],
  };
}

/** toOutbox over a usage state and a write in flight that the test releases. */
function harness() {
  const usage = { seq: 0 } as UsageState;
  const pictures: number[] = [];
  const checkpoints = {
    // Due for any state newer than the last picture (as CheckpointPolicy after a save).
    due: (seq: number) => seq > Math.max(0, ...pictures),
    cut: (seq: number) => {
      pictures.push(seq);
      return Promise.resolve({ staged: Promise.resolve(new Uint8Array()) });
    },
  } as unknown as CheckpointPolicy;
  const h = {
    usage,
    pictures,
    release: () => undefined as void,
    inFlight: Promise.resolve(),
    input: new Subject<Folded | Tick>(),
  };
  h.inFlight = new Promise<void>((r) => (h.release = r));
  const stage = toOutbox({
    flushIntervalMs: 60_000,
    storeRawEvents: false,
    usage,
    rules: {} as RulesStage,
    directory: {} as ClientDirectory,
    checkpoints,
    afterSeq: 0,
    idle: () => h.inFlight,
  });
  return Object.assign(h, {
    stage,
    cuts: firstValueFrom(h.input.pipe(stage.operator, toArray())),
  });
}

describe('toOutbox', () => {
  it('a tick cut that waited while a slice was folded writes without a checkpoint', async () => {
    const h = harness();
    h.usage.seq = 1;
    h.input.next(folded(1));
    h.input.next({ tick: true }); // its cut waits for the write in flight…
    h.usage.seq = 2; // …while the next slice is folded (the fold is synchronous)
    h.input.next(folded(2));
    h.release();
    h.inFlight = Promise.resolve();
    await new Promise((r) => setImmediate(r));
    h.input.complete();

    const got = (await h.cuts).map((c) => ({
      seq: c.seq,
      written: c.write.lastSeq,
      checkpoint: !!c.checkpoint,
    }));
    expect(got).toEqual([
      { seq: 1, written: 1, checkpoint: false },
      { seq: 2, written: 2, checkpoint: true },
    ]);
    expect(h.pictures).toEqual([2]);
  });

  it('no slice may be folded while a cut is taken: folding() waits for the cut', async () => {
    const h = harness();
    h.usage.seq = 1;
    h.input.next(folded(1));
    h.input.next({ tick: true }); // its cut waits for the write in flight
    let open = false;
    const opened = h.stage.folding().then(() => (open = true));
    await new Promise((r) => setImmediate(r));
    expect(open).toBe(false);
    h.release();
    h.inFlight = Promise.resolve();
    await opened;
    expect(open).toBe(true);
    h.input.complete();
    expect((await h.cuts).map((c) => [c.seq, !!c.checkpoint])).toEqual([[1, true]]);
  });

  it("a midnight's many outputs go in parts, in order, the checkpoint with the last", async () => {
    const h = harness();
    h.inFlight = Promise.resolve();
    const n = 2 * OUTPUTS_PER_WRITE + 7;
    const outputs = Array.from({ length: n }, (_, i) =>
      tagOutput(firingOf('pb', `c${i}`, '2026-11-22', 1_795_000_000_000), 0, {
        op: 'add',
        tag: 't',
        changed: true,
        tags: ['t'],
      }),
    );
    h.usage.seq = 4;
    h.input.next(folded(4, outputs));
    h.input.complete();

    const cuts = await h.cuts;
    expect(cuts.map((c) => [c.seq, c.write.outputs.length, !!c.checkpoint])).toEqual([
      [0, OUTPUTS_PER_WRITE, false],
      [0, OUTPUTS_PER_WRITE, false],
      [4, 7, true],
    ]);
    expect(cuts.flatMap((c) => c.write.outputs.map((o) => o.id))).toEqual(outputs.map((o) => o.id));
    expect(h.pictures).toEqual([4]);
  });
});
