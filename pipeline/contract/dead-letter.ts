/**
 * The dead-letter message: subject, de-duplication id and JSON body
 * (schemas/dead-letter.schema.json). Subject pulso.dlq.<reason code>, so a subscriber can
 * take one kind of failure; the id is derived from the stream position, so a redelivered
 * input never yields a second dead letter.
 */
import type { DeadLetter } from './types.js';

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
