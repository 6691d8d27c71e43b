/**
 * Property-based attacks on decoding (fast-check, seeded): whatever a producer sends, decoding
 * returns — never throws — every input ends as exactly one outcome (an event, a client update
 * or a dead letter per item), and every dead letter fits in one NATS message, satisfies its
 * schema and carries a prefix of the exact bytes with the hash of the whole.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateDeadLetter } from '../../schemas/index.js';
import { deadLetterMessage, DEFAULT_DEAD_LETTER_CAPS } from './dead-letter.js';
import { CONTENT_TYPE_NDJSON, decodeMessage } from './decode.js';
import { CONTENT_TYPE_ARROW } from './arrow.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Decoded, InboundMessage } from '../../schemas/types.js';
import { arrowBatch } from '../../test/fixtures/usage-stream.js';
import { eventLike, hostileKey, hostileScalar } from '../../test/fixtures/hostile.js';

const SEED = Number(process.env.PULSO_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.PULSO_FUZZ_RUNS ?? 400);
const STORED_AT = Date.UTC(2026, 10, 20, 12);
const enc = new TextEncoder();
const dec = new TextDecoder();

function inbound(data: Uint8Array, subject: string, contentType?: string): InboundMessage {
  return {
    subject,
    data,
    streamSeq: 1234,
    storedAt: STORED_AT,
    ...(contentType ? { headers: { 'Content-Type': contentType } } : {}),
  };
}

/** The promises of decoding, checked on every case. */
function checkDecoded(m: InboundMessage, out: Decoded, items?: number): void {
  const outcomes = out.events.length + out.clientUpdates.length + out.deadLetters.length;
  if (items === undefined) expect(outcomes).toBeGreaterThanOrEqual(out.clock === undefined ? 1 : 0);
  // A batch either refused whole (one dead letter, no index) or one outcome per item.
  else if (!(out.deadLetters.length === 1 && out.deadLetters[0]!.index === undefined))
    expect(outcomes).toBe(items);
  for (const dl of out.deadLetters) {
    const msg = deadLetterMessage(dl);
    expect(msg.body.length).toBeLessThanOrEqual(DEFAULT_DEAD_LETTER_CAPS.maxBodyBytes);
    const body = JSON.parse(dec.decode(msg.body)) as Record<string, unknown>;
    expect(validateDeadLetter(body), JSON.stringify(validateDeadLetter.errors)).toBe(true);
    expect(body.payload_sha256).toBe(createHash('sha256').update(dl.payload).digest('hex'));
    const carried = Buffer.from(String(body.payload_base64), 'base64');
    expect(Buffer.from(dl.payload).subarray(0, carried.length).equals(carried)).toBe(true);
    expect(carried.length === dl.payload.length).toBe(body.payload_truncated === undefined);
    if (dl.index === undefined)
      expect(Buffer.from(dl.payload).equals(Buffer.from(m.data))).toBe(true);
  }
}

const eventShaped = eventLike(
  fc.oneof(
    fc.integer({ min: 0, max: 5e12 }),
    fc.constantFrom('2026-11-20T10:00:00Z', '2026-02-30T10:00:00Z', 1763632800, NaN),
    hostileScalar,
  ),
);
const anyJson = fc.oneof(
  eventShaped,
  fc.jsonValue({ maxDepth: 6 }),
  fc.dictionary(hostileKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 10 }),
);

describe('decodeMessage under attack (property-based)', () => {
  it('random bytes on every subject and content type', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom('tracking.events', 'tracking.clients', 'tracking.clock', 'tracking.x'),
        fc.constantFrom(
          undefined,
          'application/json',
          CONTENT_TYPE_NDJSON,
          CONTENT_TYPE_ARROW,
          'text/x',
        ),
        (bytes, subject, ct) => {
          const m = inbound(bytes, subject, ct);
          checkDecoded(m, decodeMessage(m, DEFAULT_LIMITS));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('random JSON items, alone, in arrays and as NDJSON, on events and clients', () => {
    fc.assert(
      fc.property(
        fc.array(anyJson, { minLength: 1, maxLength: 30 }),
        fc.constantFrom('tracking.events', 'tracking.clients'),
        fc.constantFrom('single', 'array', 'ndjson'),
        (items, subject, form) => {
          const text =
            form === 'single'
              ? JSON.stringify(items[0])
              : form === 'array'
                ? JSON.stringify(items)
                : items.map((i) => JSON.stringify(i)).join('\n');
          const m = inbound(
            enc.encode(text),
            subject,
            form === 'ndjson' ? CONTENT_TYPE_NDJSON : undefined,
          );
          const out = decodeMessage(m, DEFAULT_LIMITS);
          checkDecoded(m, out, form === 'single' ? undefined : items.length);
          expect(out.deadLetters.map((d) => d.reason.code)).not.toContain('internal_error');
          // Prototype keys never leak into objects Pulso builds.
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('nesting up to 100,000 deep, alone, inside an event and on an NDJSON line', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom('[', '{"a":'),
        fc.constantFrom('bare', 'property', 'ndjson'),
        (depth, open, where) => {
          const close = open === '[' ? ']' : '}';
          const nest = `${open.repeat(depth)}1${close.repeat(depth)}`;
          const text =
            where === 'bare'
              ? `[${nest}]`
              : where === 'property'
                ? `{"kind":"login","client_id":"c","properties":{"p":${nest}}}`
                : `{"kind":"login","client_id":"c"}\n${nest}`;
          const m = inbound(
            enc.encode(text),
            'tracking.events',
            where === 'ndjson' ? CONTENT_TYPE_NDJSON : undefined,
          );
          const out = decodeMessage(m, DEFAULT_LIMITS);
          checkDecoded(m, out, where === 'ndjson' ? 2 : undefined);
          const total = depth + (where === 'bare' ? 1 : where === 'property' ? 2 : 0);
          // Too deep is refused as such, unless its size already refused it.
          if (total > DEFAULT_LIMITS.maxDepth)
            expect(
              out.deadLetters.some((d) => ['too_deep', 'event_too_large'].includes(d.reason.code)),
            ).toBe(true);
          expect(out.deadLetters.map((d) => d.reason.code)).not.toContain('internal_error');
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('strings up to the message limit, in every field, with every kind of escape', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DEFAULT_LIMITS.maxMessageBytes - 64 }),
        fc.constantFrom('x', '\u0001', '"', '€', '\ud83d\ude00', '\\'),
        fc.constantFrom('client_id', 'name', 'properties', 'unknown', 'id'),
        (n, ch, field) => {
          const filler = ch.repeat(Math.max(0, Math.floor(n / (JSON.stringify(ch).length + 2))));
          const ev: Record<string, unknown> = { kind: 'screen', name: 'tela:x', client_id: 'c' };
          ev[field] = field === 'properties' ? { p: filler } : filler;
          const data = enc.encode(JSON.stringify(ev));
          const m = inbound(data, 'tracking.events');
          checkDecoded(m, decodeMessage(m, DEFAULT_LIMITS));
        },
      ),
      { seed: SEED, numRuns: 40 },
    );
  });

  it('Arrow IPC with corrupt bodies: flipped bytes, cut short, rows with hostile values', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      id: `a-${i}`,
      kind: i % 7 === 0 ? 'nope' : 'screen',
      name: i % 5 === 0 ? 'x'.repeat(500) : 'tela:x',
      client_id: i % 11 === 0 ? 'a b' : `c${i}`,
      user_id: null,
      timestamp: i % 3 === 0 ? Number.NaN : STORED_AT - i,
      value: i % 13 === 0 ? 1e300 : 1,
    }));
    const ipc = arrowBatch(rows as never);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(ipc.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        fc.integer({ min: 1, max: ipc.length }),
        (flips, keep) => {
          const data = ipc.slice(0, keep);
          for (const [at, b] of flips) if (at < data.length) data[at] = b;
          const m = inbound(data, 'tracking.events', CONTENT_TYPE_ARROW);
          const out = decodeMessage(m, DEFAULT_LIMITS);
          checkDecoded(m, out);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('10,001-item batches and batches at the limit', () => {
    for (const n of [DEFAULT_LIMITS.maxBatchEvents, DEFAULT_LIMITS.maxBatchEvents + 1]) {
      const items = Array.from({ length: n }, (_, i) => ({ kind: 'login', client_id: `c${i}` }));
      for (const ndjson of [false, true]) {
        const text = ndjson
          ? items.map((i) => JSON.stringify(i)).join('\n')
          : JSON.stringify(items);
        const m = inbound(
          enc.encode(text),
          'tracking.events',
          ndjson ? CONTENT_TYPE_NDJSON : undefined,
        );
        const out = decodeMessage(m, DEFAULT_LIMITS);
        checkDecoded(m, out, n);
        expect(out.events.length).toBe(n > DEFAULT_LIMITS.maxBatchEvents ? 0 : n);
      }
    }
  });
});
