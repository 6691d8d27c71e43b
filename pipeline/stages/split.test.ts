import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../operators/partition.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import { CONTENT_TYPE_NDJSON, decodeMessage } from '../contract/decode.js';
import { UserDirectory } from '../contract/user-directory.js';
import type { InboundMessage } from '../../schemas/types.js';
import { splitSlice } from './split.js';
import type { Slice } from './units.js';

const enc = new TextEncoder();
const COUNT = 16;

function message(subject: string, seq: number, lines: object[], ndjson = true): InboundMessage {
  const text = ndjson ? lines.map((l) => JSON.stringify(l)).join('\n') : JSON.stringify(lines);
  return {
    subject,
    data: enc.encode(text),
    ...(ndjson ? { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } } : {}),
    streamSeq: seq,
    storedAt: Date.parse('2026-11-02T00:00:00Z'),
  };
}

/** A slice as decodeSlices builds it, from decoded messages. */
function sliceOf(msgs: InboundMessage[], clock?: number): Slice {
  const s: Slice = {
    events: [],
    updates: [],
    userUpdates: [],
    taskUpdates: [],
    deadLetters: [],
    messages: msgs.length,
    lastSeq: msgs[msgs.length - 1]!.streamSeq,
    pending: 0,
    fetchStartedAt: 0,
    check: 'fetchEnd',
    settle: () => undefined,
    ...(clock !== undefined ? { clock } : {}),
  };
  for (const m of msgs) {
    const d = decodeMessage(m, DEFAULT_LIMITS);
    s.events.push(...d.events);
    s.updates.push(...d.clientUpdates);
    s.userUpdates.push(...d.userUpdates);
    s.deadLetters.push(...d.deadLetters);
  }
  return s;
}

const event = (client: string | undefined, i: number, user?: string) => ({
  id: `e-${i}`,
  timestamp: '2026-11-01T10:00:00Z',
  kind: 'action',
  name: 'tela:criar_produto',
  ...(client !== undefined ? { client_id: client } : {}),
  ...(user !== undefined ? { user_id: user } : {}),
});

describe('splitSlice', () => {
  // 200 clients: every one of the 16 partitions holds several.
  const clients = Array.from({ length: 200 }, (_, i) => `client-${i}`);
  const all = Array.from({ length: COUNT }, (_, p) => ({ partition: p, afterSeq: 0 }));

  it('a batch mixing clients of every partition is split exactly: each event once, in its partition, in order', () => {
    const lines = clients.flatMap((c, i) => [event(c, 2 * i), event(c, 2 * i + 1)]);
    // Two formats of batch: NDJSON and a JSON array.
    const s = sliceOf([
      message('tracking.events', 1, lines.slice(0, 200)),
      message('tracking.events', 2, lines.slice(200), false),
    ]);
    expect(s.events).toHaveLength(400);
    const parts = splitSlice(s, COUNT, all, undefined);
    expect([...parts.keys()].sort((a, b) => a - b)).toEqual(all.map((r) => r.partition));
    const seen: string[] = [];
    for (const [p, part] of parts) {
      expect(part.events.length).toBeGreaterThan(0);
      for (const e of part.events) {
        expect(partitionOf(e.clientId, COUNT)).toBe(p);
        seen.push(e.eventId);
      }
      // Stream order is kept within a partition.
      const order = part.events.map((e) => [e.streamSeq, e.index]);
      expect(order).toEqual([...order].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
      expect(part.lastSeq).toBe(2);
    }
    expect(seen.sort()).toEqual(lines.map((l) => l.id).sort());
  });

  it('a partition past part of the slice gets only what follows its checkpoint', () => {
    const s = sliceOf([
      message(
        'tracking.events',
        7,
        clients.map((c, i) => event(c, i)),
      ),
      message(
        'tracking.events',
        8,
        clients.map((c, i) => event(c, 1000 + i)),
      ),
    ]);
    const routes = all.map((r) => ({ ...r, afterSeq: r.partition === 5 ? 7 : 6 }));
    const parts = splitSlice(s, COUNT, routes, undefined);
    const five = parts.get(5)!.events;
    expect(five.length).toBeGreaterThan(0);
    expect(five.map((e) => e.streamSeq)).toEqual(five.map(() => 8));
    const six = parts.get(6)!.events.map((e) => e.streamSeq);
    expect(six).toContain(7);
    expect(six).toContain(8);
    // Past the whole slice: nothing at all.
    expect(splitSlice(s, COUNT, [{ partition: 5, afterSeq: 8 }], undefined).size).toBe(0);
  });

  it("user-only events go to their user's client; client updates to theirs; user updates, clocks to all; dead letters once", () => {
    const users = new UserDirectory();
    users.apply(
      decodeMessage(
        message('tracking.users', 1, [
          { id: 'u1', timestamp: '2026-11-01T09:00:00Z', user_id: 'ana', client_id: 'client-7' },
        ]),
        DEFAULT_LIMITS,
      ).userUpdates[0]!,
    );
    const s = sliceOf(
      [
        message('tracking.events', 2, [
          event(undefined, 1, 'ana'),
          event(undefined, 2, 'nobody'),
          { nonsense: true },
        ]),
        message('tracking.clients', 3, [
          {
            id: 'c1',
            timestamp: '2026-11-01T09:00:00Z',
            client_id: 'client-9',
            name: 'Nove',
          },
        ]),
        message('tracking.users', 4, [
          { id: 'u2', timestamp: '2026-11-01T09:00:00Z', user_id: 'bia', client_id: 'client-3' },
        ]),
      ],
      Date.parse('2026-11-01T12:00:00Z'),
    );
    expect(s.deadLetters).toHaveLength(1);
    const parts = splitSlice(s, COUNT, all, users);
    const where = (pred: (p: Slice) => boolean) =>
      [...parts].filter(([, part]) => pred(part)).map(([p]) => p);
    expect(where((p) => p.events.some((e) => e.eventId === 'e-1'))).toEqual([
      partitionOf('client-7', COUNT),
    ]);
    // No client known for the user: to the user's own partition, which dead-letters it.
    expect(where((p) => p.events.some((e) => e.eventId === 'e-2'))).toEqual([
      partitionOf('nobody', COUNT),
    ]);
    expect(where((p) => p.updates.length > 0)).toEqual([partitionOf('client-9', COUNT)]);
    expect(where((p) => p.userUpdates.length === 1)).toHaveLength(COUNT);
    expect(where((p) => p.clock === s.clock)).toHaveLength(COUNT);
    expect(where((p) => p.deadLetters.length > 0)).toEqual([2 % COUNT]);
  });

  it("every part carries the stream's event time, event by event and at the end, so each watermark moves as one process's", () => {
    const at = (h: number) => new Date(Date.UTC(2026, 10, 1, h)).toISOString();
    const lines = [
      { ...event('client-1', 1), timestamp: at(5) },
      { ...event('client-2', 2), timestamp: at(9) },
      { ...event('client-1', 3), timestamp: at(7) },
      { ...event('client-2', 4), timestamp: at(8) },
    ];
    const [a, b] = [partitionOf('client-1', COUNT), partitionOf('client-2', COUNT)];
    expect(a).not.toBe(b);
    const parts = splitSlice(
      sliceOf([message('tracking.events', 1, lines)]),
      COUNT,
      all,
      undefined,
    );
    const times = (p: number) => parts.get(p)!.events.map((e) => [e.eventId, e.streamTime]);
    // Before e-3 the stream had reached 09:00 (client-2's e-2): client-1's watermark too.
    expect(times(a)).toEqual([
      ['e-1', -Infinity],
      ['e-3', Date.parse(at(9))],
    ]);
    expect(times(b)).toEqual([
      ['e-2', Date.parse(at(5))],
      ['e-4', Date.parse(at(9))],
    ]);
    expect(new Set([...parts.values()].map((p) => p.reached))).toEqual(
      new Set([Date.parse(at(9))]),
    );
  });
});
