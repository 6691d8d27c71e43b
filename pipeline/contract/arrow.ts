/**
 * Arrow IPC batches: a message on tracking.events with Content-Type
 * application/vnd.apache.arrow.stream holds one record-batch stream of events, one row per
 * event, with the JSON contract's field names as columns:
 *
 *   client_id utf8 · kind utf8 · name utf8 (null for login) · user_id utf8? ·
 *   timestamp (Timestamp, or epoch-ms Int64/Float64; null = stored time) ·
 *   value float64? · id utf8?
 *
 * Dictionary-encoded strings are welcome. Rows are checked with the same rules as the
 * JSON schema (taken from it, not restated); a bad row is dead-lettered alone, as JSON;
 * a message that is not Arrow, or lacks a required column, is dead-lettered whole.
 */
import { tableFromIPC, type Table, type Vector } from 'apache-arrow';
import common from '../../schemas/common.schema.json' with { type: 'json' };
import trackingEvent from '../../schemas/tracking-event.schema.json' with { type: 'json' };
import { arrowProblem } from './arrow-guard.js';
import { deadLetter, emptyDecoded } from './decode.js';
import { parseEventTime } from './event-time.js';
import type { Limits } from './limits.js';
import type {
  Decoded,
  EventKind,
  InboundMessage,
  Reason,
  TrackingEvent,
} from '../../schemas/types.js';

export const CONTENT_TYPE_ARROW = 'application/vnd.apache.arrow.stream';

const ACCOUNT = new RegExp(common.definitions.accountId.pattern, 'u');
const ACCOUNT_MAX = common.definitions.accountId.maxLength;
const NAME = new RegExp(trackingEvent.properties.name.pattern, 'u');
const NAME_MAX = trackingEvent.properties.name.maxLength;
const ID_MAX = common.definitions.id.maxLength;
const KINDS = new Set<string>(trackingEvent.properties.kind.enum);
const REQUIRED = ['client_id', 'kind'] as const;
const encoder = new TextEncoder();

const num = (v: unknown): number | null =>
  v === null || v === undefined ? null : typeof v === 'bigint' ? Number(v) : (v as number);

export function decodeArrow(msg: InboundMessage, limits: Limits): Decoded {
  const out: Decoded = emptyDecoded();
  const whole = (message: string, expected: string) =>
    out.deadLetters.push(deadLetter(msg, { code: 'invalid_arrow', message, expected }, msg.data));

  const problem = arrowProblem(msg.data, limits.maxBatchEvents);
  if (problem !== undefined) {
    whole(
      `not a usable Arrow IPC stream: ${problem}`,
      `an Arrow IPC stream (one schema, record batches) of at most ${limits.maxBatchEvents} rows`,
    );
    return out;
  }
  let table: Table;
  try {
    table = tableFromIPC(msg.data);
  } catch (e) {
    whole(
      `not an Arrow IPC stream: ${(e as Error).message}`,
      'an Arrow IPC stream (one schema, record batches)',
    );
    return out;
  }
  const col = (n: string) => table.getChild(n) as Vector | null;
  for (const name of REQUIRED)
    if (!col(name)) {
      whole(
        `column ${name} is missing`,
        `columns ${REQUIRED.join(', ')}, and optionally name, user_id, timestamp, value, id`,
      );
      return out;
    }
  if (table.numRows === 0) {
    whole('the batch holds no rows', 'at least one event');
    return out;
  }
  if (table.numRows > limits.maxBatchEvents) {
    whole(
      `the batch holds ${table.numRows} events`,
      `at most ${limits.maxBatchEvents} events per message`,
    );
    return out;
  }
  const clients = col('client_id')!;
  const kinds = col('kind')!;
  const names = col('name');
  const users = col('user_id');
  const times = col('timestamp');
  const values = col('value');
  const ids = col('id');

  for (let i = 0; i < table.numRows; i++) {
    const clientId = clients.get(i) as string | null;
    const kind = kinds.get(i) as string | null;
    const name = (names?.get(i) as string | null | undefined) ?? null;
    const userId = (users?.get(i) as string | null | undefined) ?? null;
    const rawTs = num(times?.get(i));
    const value = num(values?.get(i));
    const id = (ids?.get(i) as string | null | undefined) ?? null;
    const refuse = (reason: Reason) =>
      out.deadLetters.push(
        deadLetter(
          msg,
          reason,
          encoder.encode(
            JSON.stringify({
              id,
              kind,
              name,
              client_id: clientId,
              user_id: userId,
              timestamp: rawTs,
              value,
            }),
          ),
          i,
        ),
      );
    const bad = (path: string, expected: string, actual: unknown) =>
      refuse({
        code: 'schema_violation',
        message: `${path}: expected ${expected}`,
        path,
        expected,
        actual,
      });

    if (clientId === null || clientId.length > ACCOUNT_MAX || !ACCOUNT.test(clientId)) {
      bad('/client_id', `an account id of 1–${ACCOUNT_MAX} characters without spaces`, clientId);
      continue;
    }
    if (kind === null || !KINDS.has(kind)) {
      bad('/kind', `one of ${[...KINDS].join(', ')}`, kind);
      continue;
    }
    if (name === null ? kind !== 'login' : name.length > NAME_MAX || !NAME.test(name)) {
      bad(
        '/name',
        `an event name (letters, digits, _ : . - /), up to ${NAME_MAX}; required unless kind is login`,
        name,
      );
      continue;
    }
    if (userId !== null && (userId.length > ACCOUNT_MAX || !ACCOUNT.test(userId))) {
      bad('/user_id', `a user id of 1–${ACCOUNT_MAX} characters without spaces`, userId);
      continue;
    }
    if (id !== null && (id.length === 0 || id.length > ID_MAX)) {
      bad('/id', `an id of 1–${ID_MAX} characters`, id);
      continue;
    }
    if (
      kind === 'metric'
        ? value === null
        : value !== null && !(Number.isInteger(value) && value >= 1 && value <= 1e6)
    ) {
      bad(
        '/value',
        kind === 'metric' ? 'a number (required for metric)' : 'an integer count from 1 to 1000000',
        value,
      );
      continue;
    }
    if (value !== null && !(Math.abs(value) <= 1e15)) {
      bad('/value', 'a number between -1e15 and 1e15', value);
      continue;
    }
    const ts = parseEventTime(
      rawTs === null ? undefined : Math.round(rawTs),
      msg.storedAt,
      limits.maxFutureSkewMs,
    );
    if (typeof ts !== 'number') {
      refuse(ts);
      continue;
    }
    out.events.push({
      eventId: id ?? `js-${msg.streamSeq}-${i}`,
      ts,
      kind: kind as EventKind,
      name: name ?? kind,
      clientId,
      userId,
      value: value ?? 1,
      properties: null,
      receivedAt: msg.storedAt,
      streamSeq: msg.streamSeq,
      index: i,
      subject: msg.subject,
    } satisfies TrackingEvent);
  }
  return out;
}
