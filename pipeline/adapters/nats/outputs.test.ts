/**
 * The output tail, with the stream replaced by an in-memory publisher: what is behind the
 * tail is skipped, and a tail kept for an output stream since created anew is not.
 */
import { describe, expect, it } from 'vitest';
import type { Output } from '../../../operators/playbooks/outputs.js';
import { OutputSigner } from './output-signature.js';
import { OutputPublisher, type StreamPublisher, type TailKeeper } from './outputs.js';
import type { OutputTail } from './partition-store.js';

const output = (at: number, n: number): Output =>
  ({
    kind: 'tag',
    subject: `cs.tag.acme`,
    id: `tag-${at}-${n}`,
    at,
    clientId: 'acme',
    source: 'p',
    body: {},
  }) as unknown as Output;

function fakes(kept?: OutputTail) {
  const sent: string[] = [];
  const js: StreamPublisher = {
    publish: (_s, _d, o) => {
      sent.push(o.msgID);
      return Promise.resolve();
    },
  };
  const tails: OutputTail[] = [];
  const keeper: TailKeeper = {
    read: () => Promise.resolve(kept),
    write: (t) => {
      tails.push(t);
      return Promise.resolve();
    },
  };
  return { js, keeper, sent, tails };
}

const signer = new OutputSigner(Buffer.from('a test key'));
const batch = [output(100, 1), output(200, 1), output(200, 2), output(300, 1)];

describe('OutputPublisher', () => {
  it('skips what the kept tail covers, and keeps the tail with its stream', async () => {
    const f = fakes({ at: 200, count: 1, stream: 'CS@1' });
    const p = await OutputPublisher.open(f.js, signer, f.keeper, 'CS@1');
    expect(await p.publish(batch)).toEqual({ published: 2, skipped: 2 });
    expect(f.sent).toEqual(['tag-200-2', 'tag-300-1']);
    expect(f.tails).toEqual([{ at: 300, count: 1, stream: 'CS@1' }]);
  });

  it('a tail kept for an output stream since created anew is ignored: everything is published', async () => {
    const f = fakes({ at: 300, count: 1, stream: 'CS@1' });
    const p = await OutputPublisher.open(f.js, signer, f.keeper, 'CS@2');
    expect(await p.publish(batch)).toEqual({ published: 4, skipped: 0 });
    expect(f.tails).toEqual([{ at: 300, count: 1, stream: 'CS@2' }]);
  });

  it('with a reader: the intent is kept before publishing; a start after a crash in between skips what the stream holds', async () => {
    const f = fakes({ at: 100, count: 1, stream: 'CS@1', pending: { fromSeq: 41 } });
    const asked: number[] = [];
    const reader = {
      lastSeq: () => Promise.resolve(57),
      // The dead run had published tag-200-1 and tag-300-1 before it died.
      idsAfter: (seq: number) => {
        asked.push(seq);
        return Promise.resolve(new Set(['tag-200-1', 'tag-300-1']));
      },
    };
    const p = await OutputPublisher.open(f.js, signer, f.keeper, 'CS@1', reader);
    expect(asked).toEqual([41]);
    expect(await p.publish(batch)).toEqual({ published: 1, skipped: 3 });
    expect(f.sent).toEqual(['tag-200-2']);
    expect(f.tails).toEqual([
      { at: 100, count: 1, stream: 'CS@1', pending: { fromSeq: 57 } },
      { at: 300, count: 1, stream: 'CS@1' },
    ]);
  });
});
