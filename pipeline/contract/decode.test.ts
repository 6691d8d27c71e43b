import { describe, expect, it } from 'vitest';
import { INVALID, VALID_EVENTS } from '../../test/fixtures/contract-corpus.js';
import { validateDeadLetter } from '../../schemas/index.js';
import { deadLetterMessage } from './dead-letter.js';
import { decodeMessage, CONTENT_TYPE_NDJSON } from './decode.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { InboundMessage } from '../../schemas/types.js';

const STORED_AT = Date.UTC(2026, 10, 20, 12, 0, 0);
const enc = new TextEncoder();

function msg(payload: string | Uint8Array, over: Partial<InboundMessage> = {}): InboundMessage {
  return {
    subject: 'tracking.events',
    data: typeof payload === 'string' ? enc.encode(payload) : payload,
    streamSeq: 7,
    storedAt: STORED_AT,
    ...over,
  };
}

describe('decodeMessage: invalid inputs become dead letters with a precise reason', () => {
  it.each(INVALID)('$name → $expect.code', (c) => {
    const out = decodeMessage(
      msg(c.payload, { subject: c.subject, ...(c.headers ? { headers: c.headers } : {}) }),
      DEFAULT_LIMITS,
    );
    expect(out.events).toHaveLength(0);
    expect(out.clientUpdates).toHaveLength(0);
    expect(out.deadLetters).toHaveLength(1);
    const dl = out.deadLetters[0]!;
    expect(dl.reason.code).toBe(c.expect.code);
    if (c.expect.path !== undefined) expect(dl.reason.path).toBe(c.expect.path);
    if (c.expect.expected) expect(dl.reason.expected).toMatch(c.expect.expected);
    // The exact bytes refused travel with the reason.
    expect(Buffer.from(dl.payload)).toEqual(
      Buffer.from(typeof c.payload === 'string' ? enc.encode(c.payload) : c.payload),
    );
    // And the message published for it satisfies its own schema.
    const body = JSON.parse(Buffer.from(deadLetterMessage(dl).body).toString('utf8'));
    expect(validateDeadLetter(body), JSON.stringify(validateDeadLetter.errors)).toBe(true);
    expect(Buffer.from(body.payload_base64, 'base64')).toEqual(Buffer.from(dl.payload));
  });

  it('covers every reason code of the dead-letter schema', async () => {
    const { schemas } = await import('../../schemas/index.js');
    const codes = schemas.deadLetter.properties.reason.properties.code.enum;
    const covered = new Set(INVALID.map((c) => c.expect.code));
    // payload_too_large needs a 1 MiB message, batch_too_large a batch and internal_error a bug: both are tested below. The
    // rest are decided after decoding: too_late by the watermark, the limits by admission,
    // poison by the crash journal, webhook_* and output_forged by the webhook deliverer
    // (tests beside them and in test/integration/security.test.ts), email_* and notify_* by
    // their senders (test/integration/email.test.ts, notify.test.ts).
    const elsewhere = [
      'payload_too_large',
      'batch_too_large',
      'internal_error',
      'too_late',
      'poison',
      'client_limit',
      'name_limit',
      'user_limit',
      'webhook_invalid',
      'webhook_failed',
      'webhook_refused',
      'output_forged',
      'unknown_client',
      'email_invalid',
      'email_failed',
      'email_unconfirmed',
      'notify_invalid',
      'notify_failed',
      'notify_refused',
    ];
    for (const code of codes) if (!elsewhere.includes(code)) expect(covered).toContain(code);
  });
});

describe('decodeMessage: valid events are normalized', () => {
  it.each(VALID_EVENTS)('$name', (c) => {
    const out = decodeMessage(msg(JSON.stringify(c.payload)), DEFAULT_LIMITS);
    expect(out.deadLetters).toEqual([]);
    expect(out.events).toHaveLength(1);
    const e = out.events[0]!;
    expect(e.ts).toBe(c.expectTs === 'stored' ? STORED_AT : c.expectTs);
    expect(e.name).toBe(c.expectName);
    expect(e.value).toBe(c.expectValue);
    expect(e.clientId).toBe('acme');
    expect(e.receivedAt).toBe(STORED_AT);
  });

  it('keeps the producer id, or derives one from the stream position', () => {
    const withId = decodeMessage(
      msg(JSON.stringify({ id: 'e-1', kind: 'login', client_id: 'c' })),
      DEFAULT_LIMITS,
    );
    expect(withId.events[0]!.eventId).toBe('e-1');
    const without = decodeMessage(
      msg(JSON.stringify({ kind: 'login', client_id: 'c' }), { streamSeq: 42 }),
      DEFAULT_LIMITS,
    );
    expect(without.events[0]!.eventId).toBe('js-42');
  });

  it('accepts an event up to the allowed clock skew and refuses one just beyond it', () => {
    const at = (ms: number) =>
      decodeMessage(
        msg(JSON.stringify({ kind: 'login', client_id: 'c', timestamp: ms })),
        DEFAULT_LIMITS,
      );
    expect(at(STORED_AT + DEFAULT_LIMITS.maxFutureSkewMs).events).toHaveLength(1);
    expect(at(STORED_AT + DEFAULT_LIMITS.maxFutureSkewMs + 1).deadLetters[0]!.reason.code).toBe(
      'timestamp_in_future',
    );
  });
});

describe('decodeMessage: batches', () => {
  const good = (i: number) => ({
    id: `b-${i}`,
    kind: 'screen',
    name: 'tela:pedidos',
    client_id: `c${i % 3}`,
    timestamp: STORED_AT - i,
  });

  it('a JSON array: bad elements become dead letters with their index, good ones pass', () => {
    const items = [good(0), { kind: 'nope', client_id: 'x' }, good(2), 17, good(4)];
    const out = decodeMessage(msg(JSON.stringify(items), { streamSeq: 9 }), DEFAULT_LIMITS);
    expect(out.events.map((e) => e.eventId)).toEqual(['b-0', 'b-2', 'b-4']);
    expect(out.deadLetters.map((d) => [d.index, d.reason.code])).toEqual([
      [1, 'schema_violation'],
      [3, 'not_an_object'],
    ]);
    expect(JSON.parse(Buffer.from(out.deadLetters[0]!.payload).toString())).toEqual(items[1]);
    expect(deadLetterMessage(out.deadLetters[0]!).msgId).toBe('dlq-9-1');
  });

  it('derives distinct ids for elements without one', () => {
    const items = [
      { kind: 'login', client_id: 'a' },
      { kind: 'login', client_id: 'a' },
    ];
    const out = decodeMessage(msg(JSON.stringify(items), { streamSeq: 5 }), DEFAULT_LIMITS);
    expect(out.events.map((e) => e.eventId)).toEqual(['js-5-0', 'js-5-1']);
  });

  it('NDJSON: one event per line, blank lines ignored, bad lines refused alone', () => {
    const text = [JSON.stringify(good(0)), '', '{oops', JSON.stringify(good(3))].join('\n');
    const out = decodeMessage(
      msg(text, { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } }),
      DEFAULT_LIMITS,
    );
    expect(out.events.map((e) => e.eventId)).toEqual(['b-0', 'b-3']);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.index).toBe(2);
    expect(out.deadLetters[0]!.reason.code).toBe('invalid_json');
    expect(Buffer.from(out.deadLetters[0]!.payload).toString()).toBe('{oops');
  });

  it('refuses a batch with more items than allowed as a whole', () => {
    const limits = { ...DEFAULT_LIMITS, maxBatchEvents: 3 };
    const out = decodeMessage(msg(JSON.stringify([good(0), good(1), good(2), good(3)])), limits);
    expect(out.events).toEqual([]);
    expect(out.deadLetters.map((d) => d.reason.code)).toEqual(['batch_too_large']);
    expect(out.deadLetters[0]!.index).toBeUndefined();
  });

  it('refuses an oversized element alone', () => {
    const big = {
      ...good(1),
      properties: Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`k${i}`, 'x'.repeat(900)]),
      ),
    };
    const out = decodeMessage(msg(JSON.stringify([good(0), big])), DEFAULT_LIMITS);
    expect(out.events).toHaveLength(1);
    expect(out.deadLetters.map((d) => [d.index, d.reason.code])).toEqual([[1, 'event_too_large']]);
  });

  it('NDJSON over the item limit is refused whole, with the exact bytes received', () => {
    const text = [good(0), good(1), good(2), good(3)].map((g) => JSON.stringify(g)).join('\n');
    const data = enc.encode(text);
    const out = decodeMessage(msg(data, { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } }), {
      ...DEFAULT_LIMITS,
      maxBatchEvents: 3,
    });
    expect(out.deadLetters.map((d) => [d.index, d.reason.code])).toEqual([
      [undefined, 'batch_too_large'],
    ]);
    expect(out.deadLetters[0]!.payload).toBe(data);
  });

  it('an element is measured and dead-lettered by its own bytes, as sent', () => {
    // Spacing and escapes the producer chose survive: nothing is re-serialized.
    const odd = '{ "kind" : "nope",\t"client_id":"\\u0078" }';
    const text = `[ ${JSON.stringify(good(0))} ,\n ${odd} ]`;
    const out = decodeMessage(msg(text, { streamSeq: 11 }), DEFAULT_LIMITS);
    expect(out.events).toHaveLength(1);
    expect(Buffer.from(out.deadLetters[0]!.payload).toString()).toBe(odd);
    expect(deadLetterMessage(out.deadLetters[0]!).msgId).toBe('dlq-11-1');
  });

  it('a single event over the event limit is event_too_large; over the message limit, payload_too_large', () => {
    const big = JSON.stringify({
      ...good(0),
      properties: { a: 'x'.repeat(900), b: 'y'.repeat(900) },
    });
    const small = { ...DEFAULT_LIMITS, maxEventBytes: 1024 };
    expect(decodeMessage(msg(big), small).deadLetters[0]!.reason.code).toBe('event_too_large');
    expect(
      decodeMessage(msg(big), { ...small, maxMessageBytes: 1500 }).deadLetters[0]!.reason.code,
    ).toBe('payload_too_large');
  });

  it('whole-message dead letters have the id dlq-<seq>, items dlq-<seq>-<index>', () => {
    const out = decodeMessage(msg('{oops', { streamSeq: 77 }), DEFAULT_LIMITS);
    expect(deadLetterMessage(out.deadLetters[0]!).msgId).toBe('dlq-77');
  });

  it('NDJSON: a line nested too deep is refused alone', () => {
    const deep = `{"kind":"login","client_id":"c","properties":${'['.repeat(40)}${']'.repeat(40)}}`;
    const text = [JSON.stringify(good(0)), deep, JSON.stringify(good(2))].join('\n');
    const out = decodeMessage(
      msg(text, { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } }),
      DEFAULT_LIMITS,
    );
    expect(out.events.map((e) => e.eventId)).toEqual(['b-0', 'b-2']);
    expect(out.deadLetters.map((d) => [d.index, d.reason.code])).toEqual([[1, 'too_deep']]);
    expect(Buffer.from(out.deadLetters[0]!.payload).toString()).toBe(deep);
  });

  it('prototype keys are plain data: kept in properties, refused at the top, nothing polluted', () => {
    const text =
      '[{"kind":"login","client_id":"c","properties":{"__proto__":"x","constructor":1}},' +
      '{"kind":"login","client_id":"c","__proto__":{"polluted":true}}]';
    const out = decodeMessage(msg(text), DEFAULT_LIMITS);
    expect(out.events).toHaveLength(1);
    expect(JSON.parse(out.events[0]!.properties!)).toEqual(
      JSON.parse('{"__proto__":"x","constructor":1}'),
    );
    expect(out.deadLetters.map((d) => [d.index, d.reason.code, d.reason.path])).toEqual([
      [1, 'schema_violation', '/__proto__'],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a bug while decoding dead-letters the message as internal_error and throws nothing', () => {
    const broken = {
      ...DEFAULT_LIMITS,
      get maxDepth(): number {
        throw new TypeError('boom');
      },
    };
    const out = decodeMessage(msg(JSON.stringify([good(0)])), broken);
    expect(out.events).toEqual([]);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.reason).toMatchObject({ code: 'internal_error' });
    expect(out.deadLetters[0]!.reason.message).toContain('TypeError: boom');
  });

  it('refuses a message larger than the stream allows', () => {
    const out = decodeMessage(msg('x'.repeat(100)), { ...DEFAULT_LIMITS, maxMessageBytes: 50 });
    expect(out.deadLetters[0]!.reason.code).toBe('payload_too_large');
  });
});

describe('decodeMessage: client updates', () => {
  it('normalizes a full update', () => {
    const out = decodeMessage(
      msg(
        JSON.stringify({
          client_id: 'acme',
          status: 'active',
          plan: 'pro',
          csm: 'carla',
          mrr: 4200,
          attributes: { seats: 25 },
          timestamp: '2026-11-01T00:00:00Z',
        }),
        { subject: 'tracking.clients' },
      ),
      DEFAULT_LIMITS,
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.clientUpdates[0]).toMatchObject({
      clientId: 'acme',
      ts: Date.UTC(2026, 10, 1),
      fields: { status: 'active', plan: 'pro', csm: 'carla', mrr: 4200 },
      attributes: { seats: 25 },
    });
  });
});

describe('decodeMessage: task updates (tracking.tasks)', () => {
  const task = 'task/criar-produto-sem-uso/acme.com/2026-W09/1';
  it('a CS tool closing tasks: done and cancelled, alone or in a batch, on any tracking.tasks subject', () => {
    const one = decodeMessage(
      msg(
        JSON.stringify({
          task_id: task,
          client_id: 'acme.com',
          status: 'done',
          by: 'ana',
          timestamp: 1_767_225_600_000,
        }),
        {
          subject: 'tracking.tasks',
        },
      ),
      DEFAULT_LIMITS,
    );
    expect(one.deadLetters).toEqual([]);
    expect(one.taskUpdates).toEqual([
      {
        updateId: 'js-7',
        ts: 1_767_225_600_000,
        taskId: task,
        clientId: 'acme.com',
        status: 'done',
        by: 'ana',
        streamSeq: 7,
        index: 0,
      },
    ]);
    const batch = decodeMessage(
      msg(
        JSON.stringify([
          { task_id: task, client_id: 'acme.com', status: 'cancelled' },
          { task_id: task, client_id: 'acme.com', status: 'open' },
        ]),
        {
          subject: 'tracking.tasks.crm',
        },
      ),
      DEFAULT_LIMITS,
    );
    expect(batch.taskUpdates.map((u) => [u.status, u.by, u.ts, u.index])).toEqual([
      ['cancelled', null, STORED_AT, 0],
    ]);
    expect(batch.deadLetters.map((d) => [d.reason.code, d.reason.path, d.index])).toEqual([
      ['schema_violation', '/status', 1],
    ]);
    expect(batch.events).toEqual([]);
  });

  it('without its client, the update is refused: it could not be routed to its partition', () => {
    const d = decodeMessage(
      msg(JSON.stringify({ task_id: task, status: 'done' }), { subject: 'tracking.tasks' }),
      DEFAULT_LIMITS,
    );
    expect(d.deadLetters.map((x) => x.reason.code)).toEqual(['schema_violation']);
    expect(d.deadLetters[0]!.reason.message).toContain('client_id');
  });
});

describe('decodeMessage: wall-clock ticks (tracking.clock)', () => {
  it('a tick carries its time and nothing else', () => {
    const ts = STORED_AT - 1000;
    const out = decodeMessage(msg(`{"ts":${ts}}`, { subject: 'tracking.clock' }), DEFAULT_LIMITS);
    expect(out).toEqual({
      events: [],
      clientUpdates: [],
      userUpdates: [],
      taskUpdates: [],
      deadLetters: [],
      clock: ts,
    });
  });

  it.each([
    ['two days ahead of JetStream time', STORED_AT + 2 * 86_400_000, 'timestamp_in_future'],
    ['in the year 2100', Date.UTC(2100, 0, 2), 'invalid_timestamp'],
    [
      'just past the allowed skew',
      STORED_AT + DEFAULT_LIMITS.maxFutureSkewMs + 1,
      'timestamp_in_future',
    ],
  ])('a tick %s is dead-lettered, never taken as time', (_name, ts, code) => {
    const out = decodeMessage(msg(`{"ts":${ts}}`, { subject: 'tracking.clock' }), DEFAULT_LIMITS);
    expect(out.clock).toBeUndefined();
    expect(out.deadLetters.map((d) => [d.reason.code, d.reason.path])).toEqual([[code, '/ts']]);
  });

  it('a tick within the allowed skew is time', () => {
    const ts = STORED_AT + DEFAULT_LIMITS.maxFutureSkewMs;
    expect(
      decodeMessage(msg(`{"ts":${ts}}`, { subject: 'tracking.clock' }), DEFAULT_LIMITS).clock,
    ).toBe(ts);
  });

  it.each(['{"ts":"now"}', '{"ts":1.5}', '{}', 'tick', '{"ts":-3}'])(
    'a malformed tick %s is dead-lettered with its bytes, never taken as time',
    (payload) => {
      const out = decodeMessage(msg(payload, { subject: 'tracking.clock' }), DEFAULT_LIMITS);
      expect(out.clock).toBeUndefined();
      expect(out.deadLetters).toHaveLength(1);
      expect(out.deadLetters[0]!.reason).toMatchObject({
        code: 'schema_violation',
        expected: '{"ts": <integer epoch milliseconds>}',
      });
      expect(Buffer.from(out.deadLetters[0]!.payload).toString()).toBe(payload);
    },
  );
});
