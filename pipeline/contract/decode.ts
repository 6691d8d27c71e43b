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
  validateUserUpdate,
  validateTaskUpdate,
} from '../../schemas/index.js';
import { CONTENT_TYPE_ARROW, decodeArrow } from './arrow.js';
import { parseEventTime } from './event-time.js';
import { scanJson } from './structure.js';
import type { Limits } from './limits.js';
import type {
  ClientUpdate,
  Decoded,
  DeadLetter,
  EventKind,
  InboundMessage,
  Reason,
  Scalar,
  TaskUpdate,
  TrackingEvent,
  UserUpdate,
} from '../../schemas/types.js';

export const SUBJECT_EVENTS = 'tracking.events';
export const SUBJECT_CLIENTS = 'tracking.clients';
export const SUBJECT_USERS = 'tracking.users';
/** A CS tool's word on a task (done, cancelled): the reader role publishes here. */
export const SUBJECT_TASKS = 'tracking.tasks';
/** Wall-clock ticks the pipeline itself records: `{"ts": <epoch ms>}`. */
export const SUBJECT_CLOCK = 'tracking.clock';
export const CONTENT_TYPE_NDJSON = 'application/x-ndjson';

type Route = 'events' | 'clients' | 'users' | 'tasks';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function routeOf(subject: string): Route | undefined {
  if (subject === SUBJECT_EVENTS || subject.startsWith(`${SUBJECT_EVENTS}.`)) return 'events';
  if (subject === SUBJECT_CLIENTS || subject.startsWith(`${SUBJECT_CLIENTS}.`)) return 'clients';
  if (subject === SUBJECT_USERS || subject.startsWith(`${SUBJECT_USERS}.`)) return 'users';
  if (subject === SUBJECT_TASKS || subject.startsWith(`${SUBJECT_TASKS}.`)) return 'tasks';
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

/**
 * Never throws: an unexpected error while decoding one message (a bug) refuses that message
 * as `internal_error`, with the error's text, and the stream moves on.
 */
export function decodeMessage(msg: InboundMessage, limits: Limits): Decoded {
  try {
    return decodeOrThrow(msg, limits);
  } catch (e) {
    return { ...emptyDecoded(), deadLetters: [deadLetter(msg, internalError(e), msg.data)] };
  }
}

export function internalError(e: unknown): Reason {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return {
    code: 'internal_error',
    message: `decoding failed unexpectedly (a bug in Pulso; the input is kept here): ${text}`,
    expected: 'an input Pulso can decode',
  };
}

/** A message's decoding with nothing in it yet. */
export const emptyDecoded = (): Decoded => ({
  events: [],
  clientUpdates: [],
  userUpdates: [],
  taskUpdates: [],
  deadLetters: [],
});

function decodeOrThrow(msg: InboundMessage, limits: Limits): Decoded {
  const out = emptyDecoded();
  const refuse = (reason: Reason, payload = msg.data, index?: number) =>
    out.deadLetters.push(deadLetter(msg, reason, payload, index));

  if (msg.data.length > limits.maxMessageBytes) {
    refuse({
      code: 'payload_too_large',
      message: `message of ${msg.data.length} bytes exceeds ${limits.maxMessageBytes}`,
      expected: `at most ${limits.maxMessageBytes} bytes`,
      actual: msg.data.length,
    });
    return out;
  }
  if (msg.subject === SUBJECT_CLOCK) {
    const ts = clockOf(msg.data);
    if (ts === undefined) {
      refuse({
        code: 'schema_violation',
        message: 'a clock tick must be {"ts": <epoch ms>}',
        expected: '{"ts": <integer epoch milliseconds>}',
      });
      return out;
    }
    // The same rule as an event's time: never later than JetStream's own time of storing it
    // (plus the allowed skew). Only the pipeline may publish here; this holds even if a
    // server lets anyone, and a replay judges the tick exactly as the first run did.
    const believable = parseEventTime(ts, msg.storedAt, limits.maxFutureSkewMs);
    if (typeof believable === 'number') out.clock = ts;
    else refuse({ ...believable, path: '/ts' });
    return out;
  }
  const route = routeOf(msg.subject);
  if (!route) {
    refuse({
      code: 'unknown_subject',
      message: `nothing is published on ${msg.subject}`,
      expected: `${SUBJECT_EVENTS}[.<source>], ${SUBJECT_CLIENTS}[.<source>], ${SUBJECT_USERS}[.<source>] or ${SUBJECT_TASKS}[.<source>]`,
      actual: msg.subject,
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

  const accept = (value: unknown, bytes: Uint8Array, index?: number) => {
    const result =
      route === 'events'
        ? toEvent(value, msg, limits, index)
        : route === 'clients'
          ? toClientUpdate(value, msg, limits, index)
          : route === 'users'
            ? toUserUpdate(value, msg, limits, index)
            : toTaskUpdate(value, msg, limits, index);
    if ('code' in result) refuse(result, bytes, index);
    else if (route === 'events') out.events.push(result as TrackingEvent);
    else if (route === 'clients') out.clientUpdates.push(result as ClientUpdate);
    else if (route === 'users') out.userUpdates.push(result as UserUpdate);
    else out.taskUpdates.push(result as TaskUpdate);
  };

  if (contentType === CONTENT_TYPE_NDJSON) {
    decodeNdjson(msg.data, text, limits, accept, refuse);
    return out;
  }

  // Depth first: nothing deeper than the limit is parsed, let alone walked.
  const structure = scanJson(msg.data, limits.maxDepth, limits.maxBatchEvents);
  if (structure.depth > limits.maxDepth) {
    refuse(tooDeep(limits));
    return out;
  }
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
    const spans = structure.elements;
    if (!spans || spans.length !== 2 * doc.length)
      throw new Error(`structure scan found ${structure.count} elements, JSON.parse ${doc.length}`);
    for (let i = 0; i < doc.length; i++) {
      // The element's own bytes: what is measured, and what a dead letter carries.
      const bytes = msg.data.subarray(spans[2 * i]!, spans[2 * i + 1]!);
      const item: unknown = doc[i];
      if (!isObject(item)) refuse(notAnObject(item), bytes, i);
      else if (bytes.length > limits.maxEventBytes)
        refuse(tooLarge(bytes.length, limits), bytes, i);
      else accept(item, bytes, i);
    }
  } else if (!isObject(doc)) {
    refuse(notAnObject(doc));
  } else if (msg.data.length > limits.maxEventBytes) {
    refuse(tooLarge(msg.data.length, limits));
  } else {
    accept(doc, msg.data);
  }
  return out;
}

function decodeNdjson(
  data: Uint8Array,
  text: string,
  limits: Limits,
  accept: (value: unknown, bytes: Uint8Array, index: number) => void,
  refuse: (reason: Reason, payload?: Uint8Array, index?: number) => void,
): void {
  // Lines of the text and of the bytes correspond one to one: a newline byte is never part
  // of a multi-byte character, and a JSON string cannot hold a raw one.
  const lines = text.split('\n');
  const starts = new Int32Array(lines.length + 1);
  for (let i = 0, l = 1; i < data.length; i++) if (data[i] === 0x0a) starts[l++] = i + 1;
  starts[lines.length] = data.length + 1;
  let nonBlank = 0;
  for (const l of lines) if (l.trim() !== '') nonBlank++;
  if (!batchSizeOk(nonBlank, limits, (r) => refuse(r))) return;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === '') continue;
    const bytes = data.subarray(starts[index]!, starts[index + 1]! - 1);
    if (bytes.length > limits.maxEventBytes) {
      refuse(tooLarge(bytes.length, limits), bytes, index);
      continue;
    }
    if (scanJson(bytes, limits.maxDepth, 0).depth > limits.maxDepth) {
      refuse(tooDeep(limits), bytes, index);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      refuse(
        {
          code: 'invalid_json',
          message: `line ${index + 1}: ${(e as Error).message}`,
          expected: 'one JSON object per line',
        },
        bytes,
        index,
      );
      continue;
    }
    if (!isObject(value)) refuse(notAnObject(value), bytes, index);
    else accept(value, bytes, index);
  }
}

function tooDeep(limits: Limits): Reason {
  return {
    code: 'too_deep',
    message: `JSON nested more than ${limits.maxDepth} levels deep`,
    expected: `at most ${limits.maxDepth} levels of arrays and objects (a batch of events needs 3)`,
  };
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
    client_id?: string;
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
    // Absent: the user's client, found in stream order by the figures stage (UNRESOLVED).
    clientId: e.client_id ?? UNRESOLVED_CLIENT,
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
    streamSeq: msg.streamSeq,
    index: index ?? 0,
    subject: msg.subject,
  };
}

/** The client of an event that names only its user, until the figures stage resolves it. */
export const UNRESOLVED_CLIENT = '';

function toUserUpdate(
  value: unknown,
  msg: InboundMessage,
  limits: Limits,
  index?: number,
): UserUpdate | Reason {
  if (!validateUserUpdate(value)) return schemaReason(validateUserUpdate.errors, value);
  const u = value as {
    id?: string;
    user_id: string;
    client_id?: string;
    timestamp?: string | number;
    traits?: Record<string, Scalar>;
  };
  const ts = parseEventTime(u.timestamp, msg.storedAt, limits.maxFutureSkewMs);
  if (typeof ts !== 'number') return ts;
  return {
    updateId: u.id ?? derivedId(msg, index),
    ts,
    userId: u.user_id,
    clientId: u.client_id ?? null,
    traits: u.traits ?? {},
    receivedAt: msg.storedAt,
    streamSeq: msg.streamSeq,
    index: index ?? 0,
    subject: msg.subject,
  };
}

function toTaskUpdate(
  value: unknown,
  msg: InboundMessage,
  limits: Limits,
  index?: number,
): TaskUpdate | Reason {
  if (!validateTaskUpdate(value)) return schemaReason(validateTaskUpdate.errors, value);
  const u = value as {
    id?: string;
    task_id: string;
    client_id: string;
    status: 'done' | 'cancelled';
    by?: string;
    timestamp?: string | number;
  };
  const ts = parseEventTime(u.timestamp, msg.storedAt, limits.maxFutureSkewMs);
  if (typeof ts !== 'number') return ts;
  return {
    updateId: u.id ?? derivedId(msg, index),
    ts,
    taskId: u.task_id,
    clientId: u.client_id,
    status: u.status,
    by: u.by ?? null,
    streamSeq: msg.streamSeq,
    index: index ?? 0,
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
    message: issues
      .slice(0, 5)
      .map((i) => `${i.path || '(item)'}: expected ${i.expected}`)
      .join('; ')
      .concat(issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''),
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
