/**
 * The dead-letter message: subject, de-duplication id and JSON body
 * (schemas/dead-letter.schema.json). Subject pulso.dlq.<reason code>, so a subscriber can
 * take one kind of failure; the id is derived from the stream position, so a redelivered
 * input never yields a second dead letter.
 */
import type { DeadLetter, TrackingEvent } from './types.js';

export const DEAD_LETTER_SUBJECT_ROOT = 'pulso.dlq';

export interface DeadLetterMessage {
  subject: string;
  msgId: string;
  body: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function deadLetterMessage(dl: DeadLetter): DeadLetterMessage {
  let text: string | undefined;
  try {
    text = utf8.decode(dl.payload);
  } catch {
    text = undefined;
  }
  const body = {
    reason: dl.reason,
    subject: dl.subject,
    stream_seq: dl.streamSeq,
    ...(dl.index === undefined ? {} : { index: dl.index }),
    received_at: new Date(dl.storedAt).toISOString(),
    ...(dl.headers ? { headers: dl.headers } : {}),
    payload_base64: Buffer.from(dl.payload).toString('base64'),
    ...(text === undefined ? {} : { payload_text: text }),
  };
  return {
    subject: `${DEAD_LETTER_SUBJECT_ROOT}.${dl.reason.code}`,
    msgId: `dlq-${dl.streamSeq}-${dl.index ?? 'all'}`,
    body: encoder.encode(JSON.stringify(body)),
  };
}

/**
 * An event older than the watermark allows: dead-lettered with the times that refused it.
 * Its payload is the normalized event as JSON (the message may have held other, accepted
 * events).
 */
export function tooLateDeadLetter(
  e: TrackingEvent,
  watermark: number,
  latenessMs: number,
): DeadLetter {
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
    reason: {
      code: 'too_late',
      message: `event time ${new Date(e.ts).toISOString()} is before the watermark ${new Date(watermark).toISOString()} (newest event time minus the allowed lateness of ${latenessMs / 1000} s): the windows it belongs to are final`,
      path: '/timestamp',
      expected: `an event time at or after ${new Date(watermark).toISOString()}`,
      actual: new Date(e.ts).toISOString(),
    },
    subject: e.subject,
    streamSeq: e.streamSeq,
    index: e.index,
    storedAt: e.receivedAt,
    payload: encoder.encode(JSON.stringify(event)),
  };
}
