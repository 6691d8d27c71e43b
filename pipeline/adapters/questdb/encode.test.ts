import { describe, expect, it } from 'vitest';
import type { RollingRow } from '../../../operators/rolling-counts.js';
import { encodeRows, type QuestDbRows } from './encode.js';
import { progressLine, rollingLine } from './figure-lines.js';

const empty: QuestDbRows = {
  events: [],
  clients: [],
  users: [],
  usage: [],
  userUsage: [],
  rolling: [],
  ratios: [],
  lastSeen: [],
  metrics: [],
  outputs: [],
  scores: [],
  progress: {
    ts: 1,
    partition: 2,
    writtenSeq: 3,
    watermark: 4,
    messages: 5,
    events: 6,
    deadLetters: 0,
    tooLate: 0,
    pending: 0,
  },
};

describe('encodeRows', () => {
  it('writes every line as UTF-8, in bodies of about 8 MiB cut between lines, progress last', () => {
    // Multi-byte names (2, 3 and 4 bytes in UTF-8), one line far larger than the first buffer.
    const rows: RollingRow[] = Array.from({ length: 70_000 }, (_, i) => ({
      ts: 1_780_000_000_000 + i,
      clientId: i === 5 ? `big-${'ç'.repeat(100_000)}` : `cliente-${i}-ação-€-😀`,
      figure: 'event',
      kind: 'screen',
      subject: `tela:relatório ${i}`,
      windowDays: 7,
      value: i,
      previous: i + 1,
      change: -1,
      changePct: -1 / (i + 1),
    }));
    const batch = encodeRows({ ...empty, rolling: [rows.slice(0, 30_000), rows.slice(30_000)] });
    const expected =
      rows.map(rollingLine).join('') + progressLine({ ...empty.progress, figureRows: 70_000 });
    expect([batch.rows, batch.figureRows]).toEqual([70_001, 70_001]);
    expect(batch.bodies.length).toBeGreaterThan(1);
    for (const body of batch.bodies) {
      expect(body.length).toBeLessThanOrEqual(8 * 1024 * 1024);
      expect(body.at(-1)).toBe(0x0a); // whole lines only
    }
    expect(Buffer.concat(batch.bodies).toString('utf8')).toBe(expected);
  });

  it('a write with nothing held is the progress line alone', () => {
    const batch = encodeRows(empty);
    expect(Buffer.concat(batch.bodies).toString()).toBe(
      progressLine({ ...empty.progress, figureRows: 0 }),
    );
  });
});
