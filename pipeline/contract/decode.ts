/**
 * Decoding: one JetStream message in, valid events / client updates and dead letters out.
 * Pure and total: it never throws and never loses an input — whatever is not valid comes
 * out as a dead letter carrying its exact bytes and a precise reason, and one bad element
 * of a batch never holds back the good ones.
 */
import {
  describeErrors,
  validateClientUpdate,
  validateTrackingEvent,
} from '../../schemas/index.js';
import { CONTENT_TYPE_ARROW, decodeArrow } from './arrow.js';
import { parseEventTime } from './event-time.js';
import type { Limits } from './limits.js';
import type {
  ClientUpdate,
  Decoded,
  DeadLetter,
  EventKind,
  InboundMessage,
  Reason,
  Scalar,
  TrackingEvent,
} from './types.js';

export const SUBJECT_EVENTS = 'tracking.events';
export const SUBJECT_CLIENTS = 'tracking.clients';
/** Wall-clock ticks the pipeline itself records: `{"ts": <epoch ms>}`. */
export const SUBJECT_CLOCK = 'tracking.clock';
export const CONTENT_TYPE_NDJSON = 'application/x-ndjson';

type Route = 'events' | 'clients';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function routeOf(subject: string): Route | undefined {
  if (subject === SUBJECT_EVENTS || subject.startsWith(`${SUBJECT_EVENTS}.`)) return 'events';
  if (subject === SUBJECT_CLIENTS || subject.startsWith(`${SUBJECT_CLIENTS}.`)) return 'clients';
  return undefined;
}

function clockOf(data: Uint8Array): number | undefined {
  try {
    const v = JSON.parse(utf8.decode(data)) as { ts?: unknown };
    return typeof v?.ts === 'number' && Number.isSafeInteger(v.ts) && v.ts > 0 ? v.ts : undefined;
  } catch {
    return undefined;
  }
}

export function decodeMessage(msg: InboundMessage, limits: Limits): Decoded {
  const out: Decoded = { events: [], clientUpdates: [], deadLetters: [] };
  const refuse = (reason: Reason, payload = msg.data, index?: number) =>
    out.deadLetters.push(deadLetter(msg, reason, payload, index));

  if (msg.subject === SUBJECT_CLOCK) {
    const ts = clockOf(msg.data);
    if (ts === undefined)
      refuse({
        code: 'schema_violation',
        message: 'a clock tick must be {"ts": <epoch ms>}',
        expected: '{"ts": <integer epoch milliseconds>}',
      });
    else out.clock = ts;
    return out;
  }
  const route = routeOf(msg.subject);
  if (!route) {
    refuse({
      code: 'unknown_subject',
      message: `nothing is published on ${msg.subject}`,
      expected: `${SUBJECT_EVENTS}[.<source>] or ${SUBJECT_CLIENTS}[.<source>]`,
      actual: msg.subject,
    });
    return out;
  }
  if (msg.data.length > limits.maxMessageBytes) {
    refuse({
      code: 'payload_too_large',
      message: `message of ${msg.data.length} bytes exceeds ${limits.maxMessageBytes}`,
      expected: `at most ${limits.maxMessageBytes} bytes`,
      actual: msg.data.length,
    });
    return out;
  }
  const contentType = msg.headers?.['Content-Type']?.split(';')[0]?.trim().toLowerCase();
  if (contentType === CONTENT_TYPE_ARROW && route === 'events') return decodeArrow(msg, limits);
  if (
    contentType !== undefined &&
    contentType !== 'application/json' &&
    contentType !== CONTENT_TYPE_NDJSON
  ) {
    refuse({
      code: 'unsupported_content_type',
      message: `Content-Type ${contentType} is not understood`,
      expected: `application/json (one item or an array) or ${CONTENT_TYPE_NDJSON}${route === 'events' ? ` or ${CONTENT_TYPE_ARROW}` : ''}`,
      actual: contentType,
    });
    return out;
  }
  let text: string;
  try {
    text = utf8.decode(msg.data);
  } catch {
    refuse({
      code: 'invalid_utf8',
      message: 'payload is not valid UTF-8',
      expected: 'UTF-8 encoded JSON',
    });
    return out;
  }

  // `bytes` is called only to dead-letter an item: valid items are never re-serialized.
  const accept = (value: unknown, bytes: () => Uint8Array, index?: number) => {
    const result =
      route === 'events'
        ? toEvent(value, msg, limits, index)
        : toClientUpdate(value, msg, limits, index);
    if ('code' in result) refuse(result, bytes(), index);
    else if (route === 'events') out.events.push(result as TrackingEvent);
    else out.clientUpdates.push(result as ClientUpdate);
  };

  if (contentType === CONTENT_TYPE_NDJSON) {
    decodeNdjson(text, limits, accept, refuse);
    return out;
  }
  const whole = () => msg.data;

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    refuse({
      code: 'invalid_json',
      message: (e as Error).message,
      expected: 'a JSON object, or an array of them',
    });
    return out;
  }
  if (Array.isArray(doc)) {
    if (!batchSizeOk(doc.length, limits, refuse)) return out;
    doc.forEach((item, index) => {
      const bytes = () => encoder.encode(JSON.stringify(item));
      if (!isObject(item)) return refuse(notAnObject(item), bytes(), index);
      if (mayExceed(item, limits)) {
        const b = bytes();
        if (b.length > limits.maxEventBytes) return refuse(tooLarge(b.length, limits), b, index);
      }
      accept(item, bytes, index);
    });
  } else if (!isObject(doc)) {
    refuse(notAnObject(doc));
  } else if (msg.data.length > limits.maxEventBytes) {
    refuse({ ...tooLarge(msg.data.length, limits), code: 'payload_too_large' });
  } else {
    accept(doc, whole);
  }
  return out;
}

/**
 * The schema bounds every field of an item but its free-form map (`properties`,
 * `attributes`): without one, even a worst case (every character escaped) stays under
 * this many bytes, and then the item need not be serialized to be measured.
 */
export const BOUNDED_ITEM_BYTES = 8192;

function mayExceed(item: Record<string, unknown>, limits: Limits): boolean {
  return limits.maxEventBytes < BOUNDED_ITEM_BYTES || 'properties' in item || 'attributes' in item;
}

function decodeNdjson(
  text: string,
  limits: Limits,
  accept: (value: unknown, bytes: () => Uint8Array, index: number) => void,
  refuse: (reason: Reason, payload?: Uint8Array, index?: number) => void,
): void {
  const lines = text.split('\n');
  const nonBlank = lines.filter((l) => l.trim() !== '').length;
  if (!batchSizeOk(nonBlank, limits, (r) => refuse(r))) return;
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const bytes = () => encoder.encode(line);
    const size = Buffer.byteLength(line, 'utf8');
    if (size > limits.maxEventBytes) return refuse(tooLarge(size, limits), bytes(), index);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      return refuse(
        {
          code: 'invalid_json',
          message: `line ${index + 1}: ${(e as Error).message}`,
          expected: 'one JSON object per line',
        },
        bytes(),
        index,
      );
    }
    if (!isObject(value)) return refuse(notAnObject(value), bytes(), index);
    accept(value, bytes, index);
  });
}

function batchSizeOk(n: number, limits: Limits, refuse: (r: Reason) => void): boolean {
  if (n === 0) {
    refuse({ code: 'empty_batch', message: 'batch holds no item', expected: 'at least one item' });
    return false;
  }
  if (n > limits.maxBatchEvents) {
    refuse({
      code: 'batch_too_large',
      message: `batch of ${n} items exceeds ${limits.maxBatchEvents}`,
      expected: `at most ${limits.maxBatchEvents} items per message`,
      actual: n,
    });
    return false;
  }
  return true;
}

function toEvent(
  value: unknown,
  msg: InboundMessage,
  limits: Limits,
  index?: number,
): TrackingEvent | Reason {
  if (!validateTrackingEvent(value)) return schemaReason(validateTrackingEvent.errors, value);
  const e = value as {
    id?: string;
    kind: EventKind;
    name?: string;
    client_id: string;
    user_id?: string;
    timestamp?: string | number;
    value?: number;
    properties?: Record<string, Scalar>;
  };
  const ts = parseEventTime(e.timestamp, msg.storedAt, limits.maxFutureSkewMs);
  if (typeof ts !== 'number') return ts;
  return {
    eventId: e.id ?? derivedId(msg, index),
    ts,
    kind: e.kind,
    name: e.name ?? e.kind, // only login may omit its name
    clientId: e.client_id,
    userId: e.user_id ?? null,
    value: e.value ?? 1,
    properties: e.properties === undefined ? null : JSON.stringify(e.properties),
    receivedAt: msg.storedAt,
    streamSeq: msg.streamSeq,
    index: index ?? 0,
    subject: msg.subject,
  };
}

function toClientUpdate(
  value: unknown,
  msg: InboundMessage,
  limits: Limits,
  index?: number,
): ClientUpdate | Reason {
  if (!validateClientUpdate(value)) return schemaReason(validateClientUpdate.errors, value);
  const { id, client_id, timestamp, attributes, ...fields } = value as {
    id?: string;
    client_id: string;
    timestamp?: string | number;
    attributes?: Record<string, Scalar>;
  } & ClientUpdate['fields'];
  const ts = parseEventTime(timestamp, msg.storedAt, limits.maxFutureSkewMs);
  if (typeof ts !== 'number') return ts;
  return {
    updateId: id ?? derivedId(msg, index),
    ts,
    clientId: client_id,
    fields,
    attributes: attributes ?? {},
    receivedAt: msg.storedAt,
  };
}

/** Without a producer id, the JetStream position stands in: stable across redeliveries. */
function derivedId(msg: InboundMessage, index?: number): string {
  return index === undefined ? `js-${msg.streamSeq}` : `js-${msg.streamSeq}-${index}`;
}

function schemaReason(errors: Parameters<typeof describeErrors>[0], doc: unknown): Reason {
  const issues = describeErrors(errors, doc);
  const first = issues[0] ?? { path: '', expected: 'a valid item' };
  return {
    code: 'schema_violation',
    message: issues.map((i) => `${i.path || '(item)'}: expected ${i.expected}`).join('; '),
    path: first.path,
    expected: first.expected,
    ...(first.actual === undefined ? {} : { actual: first.actual }),
    errors: issues.slice(0, 20).map(({ path, expected }) => ({ path, expected })),
  };
}

function tooLarge(size: number, limits: Limits): Reason {
  return {
    code: 'event_too_large',
    message: `item of ${size} bytes exceeds ${limits.maxEventBytes}`,
    expected: `at most ${limits.maxEventBytes} bytes per item`,
    actual: size,
  };
}

function notAnObject(value: unknown): Reason {
  return {
    code: 'not_an_object',
    message: `item is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, not an object`,
    expected: 'a JSON object',
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deadLetter(
  msg: InboundMessage,
  reason: Reason,
  payload: Uint8Array,
  index?: number,
): DeadLetter {
  return {
    reason,
    subject: msg.subject,
    streamSeq: msg.streamSeq,
    ...(index === undefined ? {} : { index }),
    storedAt: msg.storedAt,
    ...(msg.headers ? { headers: msg.headers } : {}),
    payload,
  };
}
