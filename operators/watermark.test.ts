import { describe, expect, it } from 'vitest';
import { ev } from '../test/fixtures/events.js';
import { Calendar } from './calendar.js';
import { Watermark } from './watermark.js';

const H = 3_600_000;
const at = (h: number) => Date.UTC(2026, 10, 1, h);

describe("Watermark over a partition's part of a batch", () => {
  it("moves with the stream's event time (streamTime, reached) as one process's watermark would", () => {
    // One process sees: a 10:00, b 23:30 (another client), a 10:30, then b 02:00 the next day.
    const whole = new Watermark(new Calendar('UTC'), H);
    const all = [ev(at(10), 'a'), ev(at(23.5), 'b'), ev(at(10.5), 'a'), ev(at(26), 'b')];
    const one = whole.apply({ events: all, lastSeq: 1 });
    expect(one.tooLate.map((e) => e.clientId)).toEqual(['a']);

    // Partition of client a alone: b's times arrive as streamTime and reached.
    const part = new Watermark(new Calendar('UTC'), H);
    const mine = [
      { ...all[0]!, streamTime: -Infinity },
      { ...all[2]!, streamTime: at(23.5) },
    ];
    const a = part.apply({ events: mine, lastSeq: 1, reached: at(26) });
    // a 10:30 is too late here too (the stream had reached 23:30), and the midnight that
    // 02:00 passed is evaluated in this part as well.
    expect(a.tooLate.map((e) => e.ts)).toEqual([at(10.5)]);
    expect(a.steps.filter((s) => 'boundary' in s)).toEqual(
      one.steps.filter((s) => 'boundary' in s),
    );
    expect(a.watermark).toBe(one.watermark);
    // Without the stream's time, the partition would have counted a 10:30 and seen no midnight.
    const alone = new Watermark(new Calendar('UTC'), H).apply({
      events: [all[0]!, all[2]!],
      lastSeq: 1,
    });
    expect(alone.tooLate).toEqual([]);
    expect(alone.steps.some((s) => 'boundary' in s)).toBe(false);
  });
});
