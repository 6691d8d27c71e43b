/**
 * The dead-letter message: subject, de-duplication id and JSON body
 * (schemas/dead-letter.schema.json). Subject pulso.dlq.<reason code>, so a subscriber can
 * take one kind of failure; the id is derived from the stream position, so a redelivered
 * input never yields a second dead letter.
 *
 * A dead letter always fits in one NATS message, whatever it refuses: it carries the input's
 * bytes up to `payloadBytes` and, beyond them, a prefix marked `payload_truncated`, always
 * with the size and SHA-256 of the whole (the original stays in its stream for its
 * retention). Every text taken from the input (reason details, headers) is bounded too, and
 * a last check degrades the body step by step until it is under `maxBodyBytes`. The result
 * depends only on the dead letter, so a replay publishes the same body under the same id.
 */
import { createHash } from 'node:crypto';
import type {
  ClientUpdate,
  DeadLetter,
  InboundMessage,
  Reason,
  TrackingEvent,
} from '../../schemas/types.js';

export const DEAD_LETTER_SUBJECT_ROOT = 'pulso.dlq';

export interface DeadLetterMessage {
  subject: string;
  msgId: string;
  body: Uint8Array;
}

export interface DeadLetterCaps {
  /** Most bytes of the refused input carried (`ingest.deadLetterPayloadBytes`). */
  payloadBytes: number;
  /** The whole body stays under this: the server's max payload less room for headers. */
  maxBodyBytes: number;
}

/** Headers and the subject ride beside the body: this much of the server's limit is theirs. */
export const HEADER_ROOM_BYTES = 16 * 1024;

export const DEFAULT_DEAD_LETTER_CAPS: DeadLetterCaps = {
  payloadBytes: 65_536,
  maxBodyBytes: 1_048_576 - HEADER_ROOM_BYTES,
};

/**
 * The largest payload cap whose prefix always travels whole under a server's max payload:
 * base64 takes 4/3 of it, and the rest of the body once the degrading steps have dropped
 * the text copy, headers and reason details stays under MINIMAL_REST_BYTES.
 */
export function largestPayloadCap(serverMaxPayload: number): number {
  return Math.floor(((serverMaxPayload - HEADER_ROOM_BYTES - MINIMAL_REST_BYTES) * 3) / 4);
}

const TEXT = 1000;
const MESSAGE = 2000;
const PATH = 512;
const ERRORS = 20;
const HEADERS = 32;
/** The body without payload, headers and reason details, every text escaped at worst (6×). */
const MINIMAL_REST_BYTES = 6 * (MESSAGE + 2 * PATH + TEXT) + 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n)}… (truncated)`);

/** `actual` as given when small; else a bounded text of it. */
function boundedActual(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return cut(v, TEXT);
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  return text.length <= TEXT ? v : cut(text, TEXT);
}

function boundedReason(r: Reason, keepDetails: boolean): Reason {
  return {
    code: r.code,
    message: cut(r.message, MESSAGE),
    ...(r.path === undefined ? {} : { path: cut(r.path, PATH) }),
    ...(r.expected === undefined ? {} : { expected: cut(r.expected, TEXT) }),
    ...(keepDetails && r.actual !== undefined ? { actual: boundedActual(r.actual) } : {}),
    ...(keepDetails && r.errors
      ? {
          errors: r.errors
            .slice(0, ERRORS)
            .map((e) => ({ path: cut(e.path, PATH), expected: cut(e.expected, TEXT) })),
        }
      : {}),
  };
}

function boundedHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(h).slice(0, HEADERS)) out[cut(k, TEXT)] = cut(v, TEXT);
  return out;
}

/** The longest prefix of at most n bytes that ends on a character boundary. */
function utf8Prefix(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length <= n) return bytes;
  let end = n;
  // Back off over continuation bytes (10xxxxxx) so a character is never split: at most 3, a
  // character being at most 4 bytes — binary input keeps its prefix.
  while (end > n - 3 && end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, (bytes[end]! & 0xc0) === 0x80 ? n : end);
}

function textOf(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function deadLetterId(
  dl: Pick<DeadLetter, 'stream' | 'streamSeq' | 'index' | 'reason'>,
): string {
  const where = `${dl.stream ? `${dl.stream}-` : ''}${dl.streamSeq}`;
  if (dl.reason.code === 'poison') return `dlq-${where}-poison`;
  return dl.index === undefined ? `dlq-${where}` : `dlq-${where}-${dl.index}`;
}

export function deadLetterMessage(
  dl: DeadLetter,
  caps: DeadLetterCaps = DEFAULT_DEAD_LETTER_CAPS,
): DeadLetterMessage {
  const whole = dl.payload;
  const sha256 = createHash('sha256').update(whole).digest('hex');
  let payloadCap = caps.payloadBytes;
  // Each round gives up something, most useful last; the payload prefix shrinks last of all.
  for (let round = 0; ; round++) {
    const prefix = utf8Prefix(whole, payloadCap);
    const text = round < 1 ? textOf(prefix) : undefined;
    const body = {
      reason: boundedReason(dl.reason, round < 3),
      subject: cut(dl.subject, PATH),
      ...(dl.stream ? { stream: dl.stream } : {}),
      stream_seq: dl.streamSeq,
      ...(dl.index === undefined ? {} : { index: dl.index }),
      received_at: new Date(dl.storedAt).toISOString(),
      ...(dl.headers && round < 2 ? { headers: boundedHeaders(dl.headers) } : {}),
      payload_bytes: whole.length,
      payload_sha256: sha256,
      ...(prefix.length < whole.length ? { payload_truncated: true } : {}),
      payload_base64: Buffer.from(prefix.buffer, prefix.byteOffset, prefix.length).toString(
        'base64',
      ),
      ...(text === undefined ? {} : { payload_text: text }),
    };
    const encoded = encoder.encode(JSON.stringify(body));
    if (encoded.length <= caps.maxBodyBytes || (round >= 3 && payloadCap === 0))
      return {
        subject: `${DEAD_LETTER_SUBJECT_ROOT}.${dl.reason.code}`,
        msgId: deadLetterId(dl),
        body: encoded,
      };
    if (round >= 3) payloadCap = Math.floor(payloadCap / 2);
  }
}

/**
 * An event refused after decoding (too late, beyond a bound): its payload is the normalized
 * event as JSON, since the message may have held other, accepted events.
 */
export function eventDeadLetter(e: TrackingEvent, reason: Reason): DeadLetter {
  const event = {
    id: e.eventId,
    kind: e.kind,
    name: e.name,
    client_id: e.clientId,
    ...(e.userId === null ? {} : { user_id: e.userId }),
    timestamp: new Date(e.ts).toISOString(),
    value: e.value,
  };
  return {
    reason,
    subject: e.subject,
    streamSeq: e.streamSeq,
    index: e.index,
    storedAt: e.receivedAt,
    payload: encoder.encode(JSON.stringify(event)),
  };
}

/** An event older than the watermark allows: dead-lettered with the times that refused it. */
export function tooLateDeadLetter(
  e: TrackingEvent,
  watermark: number,
  latenessMs: number,
): DeadLetter {
  return eventDeadLetter(e, {
    code: 'too_late',
    message: `event time ${new Date(e.ts).toISOString()} is before the watermark ${new Date(watermark).toISOString()} (newest event time minus the allowed lateness of ${latenessMs / 1000} s): the windows it belongs to are final`,
    path: '/timestamp',
    expected: `an event time at or after ${new Date(watermark).toISOString()}`,
    actual: new Date(e.ts).toISOString(),
  });
}

/** A message the pipeline died on twice: refused whole, with the errors of the crashes. */
export function poisonDeadLetter(
  msg: InboundMessage,
  p: { errors: string[]; decidedAt: string },
): DeadLetter {
  return {
    reason: {
      code: 'poison',
      message: `the pipeline died twice while processing this message; it is skipped since ${p.decidedAt}${p.errors.length > 0 ? `: ${p.errors.join(' | ')}` : ' (the process died without a word, e.g. killed or out of memory)'}`,
      expected: 'a message Pulso can process without dying',
    },
    subject: msg.subject,
    streamSeq: msg.streamSeq,
    storedAt: msg.storedAt,
    ...(msg.headers ? { headers: msg.headers } : {}),
    payload: msg.data,
  };
}

/** A client attribute update for a new client when the state is full. */
export function clientLimitDeadLetter(u: ClientUpdate, maxClients: number): DeadLetter {
  return {
    reason: {
      code: 'client_limit',
      message: `the state holds ${maxClients} clients (limits.maxClients); client ${u.clientId} is new`,
      expected: `a client already known, or room for one (limits.maxClients ${maxClients})`,
    },
    subject: u.subject,
    streamSeq: u.streamSeq,
    index: u.index,
    storedAt: u.receivedAt,
    payload: encoder.encode(
      JSON.stringify({
        id: u.updateId,
        client_id: u.clientId,
        timestamp: new Date(u.ts).toISOString(),
        ...u.fields,
        attributes: u.attributes,
      }),
    ),
  };
}
