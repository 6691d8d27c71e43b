import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validateDeadLetter } from '../../schemas/index.js';
import {
  deadLetterMessage,
  DEFAULT_DEAD_LETTER_CAPS,
  largestPayloadCap,
  tooLateDeadLetter,
} from './dead-letter.js';
import { decodeMessage } from './decode.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { DeadLetter } from '../../schemas/types.js';

const enc = new TextEncoder();
interface Body {
  reason: { code: string };
  stream_seq: number;
  payload_bytes: number;
  payload_sha256: string;
  payload_truncated?: true;
  payload_base64: string;
  payload_text?: string;
}
const parse = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8')) as Body;

describe('dead letters always fit', () => {
  it('the reproduction: a 1,000,000-character property is carried as a marked prefix with the hash of the whole', () => {
    const data = enc.encode(
      JSON.stringify({ kind: 'login', client_id: 'big', properties: { a: 'x'.repeat(1_000_000) } }),
    );
    const out = decodeMessage(
      { subject: 'tracking.events', data, streamSeq: 5, storedAt: Date.UTC(2026, 10, 1) },
      DEFAULT_LIMITS,
    );
    expect(out.deadLetters.map((d) => d.reason.code)).toEqual(['event_too_large']);
    const m = deadLetterMessage(out.deadLetters[0]!);
    expect(m.body.length).toBeLessThan(200_000);
    const body = parse(m.body);
    expect(validateDeadLetter(body), JSON.stringify(validateDeadLetter.errors)).toBe(true);
    expect(body).toMatchObject({
      payload_truncated: true,
      payload_bytes: data.length,
      stream_seq: 5,
    });
    expect(body.payload_sha256).toBe(createHash('sha256').update(data).digest('hex'));
    const prefix = Buffer.from(body.payload_base64, 'base64');
    expect(prefix.length).toBe(DEFAULT_DEAD_LETTER_CAPS.payloadBytes);
    expect(prefix.equals(Buffer.from(data.subarray(0, prefix.length)))).toBe(true);
    expect(body.payload_text).toBe(prefix.toString('utf8'));
  });

  it('a prefix never splits a character; small payloads travel whole, unmarked', () => {
    const data = enc.encode('€'.repeat(40_000)); // 3 bytes each
    const dl: DeadLetter = {
      reason: { code: 'invalid_json', message: 'x' },
      subject: 'tracking.events',
      streamSeq: 1,
      storedAt: 0,
      payload: data,
    };
    const body = parse(deadLetterMessage(dl).body);
    expect(Buffer.from(body.payload_base64, 'base64').length % 3).toBe(0);
    expect(body.payload_text).toBe('€'.repeat(65_535 / 3));
    const small = parse(deadLetterMessage({ ...dl, payload: enc.encode('{oops') }).body);
    expect(small.payload_truncated).toBeUndefined();
    expect(small.payload_text).toBe('{oops');
  });

  it('binary input keeps a full prefix: only a real character is never split', () => {
    const dl: DeadLetter = {
      reason: { code: 'invalid_utf8', message: 'x' },
      subject: 'tracking.events',
      streamSeq: 2,
      storedAt: 0,
      payload: new Uint8Array(100_000).fill(0x80), // continuation bytes only: not text
    };
    const body = parse(deadLetterMessage(dl).body);
    expect(Buffer.from(body.payload_base64, 'base64').length).toBe(65_536);
    expect(body.payload_text).toBeUndefined();
  });

  it('everything taken from the input is bounded: reason details, headers, escapes', () => {
    const worst = '\u0001'.repeat(200_000); // 6 bytes each once escaped
    const dl: DeadLetter = {
      reason: {
        code: 'schema_violation',
        message: worst,
        path: worst,
        expected: worst,
        actual: { deep: [worst, worst] },
        errors: Array.from({ length: 10_000 }, () => ({ path: worst, expected: worst })),
      },
      subject: 'tracking.events',
      streamSeq: 3,
      index: 9,
      storedAt: 0,
      headers: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`h${i}`, worst])),
      payload: enc.encode(worst),
    };
    const m = deadLetterMessage(dl);
    expect(m.body.length).toBeLessThanOrEqual(DEFAULT_DEAD_LETTER_CAPS.maxBodyBytes);
    expect(m.msgId).toBe('dlq-3-9');
    const body = parse(m.body);
    expect(validateDeadLetter(body), JSON.stringify(validateDeadLetter.errors)).toBe(true);
    expect(body.reason.code).toBe('schema_violation');
    expect(body.payload_bytes).toBe(200_000);
  });

  it('a tight body limit degrades the body step by step but keeps the reason and hash', () => {
    const dl: DeadLetter = {
      reason: { code: 'invalid_json', message: 'm', actual: 'a'.repeat(900) },
      subject: 'tracking.events',
      streamSeq: 4,
      storedAt: 0,
      headers: { 'Content-Type': 'application/json' },
      payload: enc.encode('z'.repeat(50_000)),
    };
    const m = deadLetterMessage(dl, { payloadBytes: 65_536, maxBodyBytes: 8_000 });
    expect(m.body.length).toBeLessThanOrEqual(8_000);
    const body = parse(m.body);
    expect(body.reason.code).toBe('invalid_json');
    expect(body.payload_truncated).toBe(true);
    expect(validateDeadLetter(body)).toBe(true);
  });

  it('the largest payload cap for the default 1 MiB server limit allows the default cap', () => {
    expect(largestPayloadCap(1_048_576)).toBeGreaterThanOrEqual(
      DEFAULT_DEAD_LETTER_CAPS.payloadBytes,
    );
    expect(largestPayloadCap(65_536)).toBeLessThan(DEFAULT_DEAD_LETTER_CAPS.payloadBytes);
  });

  it('too-late and poison dead letters have their own ids', () => {
    const e = decodeMessage(
      {
        subject: 'tracking.events',
        data: enc.encode('[{"kind":"login","client_id":"c"},{"kind":"login","client_id":"d"}]'),
        streamSeq: 8,
        storedAt: Date.UTC(2026, 0, 1),
      },
      DEFAULT_LIMITS,
    ).events[1]!;
    expect(deadLetterMessage(tooLateDeadLetter(e, Date.UTC(2026, 0, 2), 3_600_000)).msgId).toBe(
      'dlq-8-1',
    );
    const poison: DeadLetter = {
      reason: { code: 'poison', message: 'crashed twice' },
      subject: 'tracking.events',
      streamSeq: 8,
      storedAt: 0,
      payload: new Uint8Array(0),
    };
    expect(deadLetterMessage(poison).msgId).toBe('dlq-8-poison');
    expect(
      deadLetterMessage({
        ...poison,
        stream: 'PULSO_CS',
        reason: { code: 'webhook_invalid', message: 'x' },
      }).msgId,
    ).toBe('dlq-PULSO_CS-8');
  });
});
