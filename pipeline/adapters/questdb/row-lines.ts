/**
 * Line protocol for raw events and client attribute rows, by hand like the figures (one
 * encoder, one transport). Escaping and column order are QuestDB's own client's: the
 * property test in row-lines.test.ts holds the two byte-equal for random input.
 */
import type { ClientRow, UserRow } from '../../contract/client-directory.js';
import type { TrackingEvent } from '../../../schemas/types.js';
import { float, micros, ns, str, tag } from './figure-lines.js';
import { CLIENT_ATTRIBUTES_TABLE, EVENTS_TABLE, USER_ATTRIBUTES_TABLE } from './tables.js';

export function eventLine(e: TrackingEvent): string {
  const user = e.userId === null ? '' : `,user_id=${str(e.userId)}`;
  const props = e.properties === null ? '' : `,properties=${str(e.properties)}`;
  return `${EVENTS_TABLE},client_id=${tag(e.clientId)},kind=${tag(e.kind)},name=${tag(e.name)},subject=${tag(e.subject)} event_id=${str(e.eventId)}${user},value=${float(e.value)}${props},received_at=${micros(e.receivedAt)},stream_seq=${e.streamSeq}i ${ns(e.ts)}\n`;
}

export function clientLine(r: ClientRow): string {
  const sym = (k: string, v: string | null) => (v === null ? '' : `,${k}=${tag(v)}`);
  const name = r.name === null ? '' : `,name=${str(r.name)}`;
  const mrr = r.mrr === null ? '' : `,mrr=${float(r.mrr)}`;
  return `${CLIENT_ATTRIBUTES_TABLE},client_id=${tag(r.clientId)}${sym('status', r.status)}${sym('plan', r.plan)}${sym('segment', r.segment)}${sym('csm', r.csm)} update_id=${str(r.updateId)}${name}${mrr},attributes=${str(r.attributes)},stamps=${str(r.stamps)} ${ns(r.ts)}\n`;
}

export function userLine(r: UserRow): string {
  const client = r.clientId === null ? '' : `,client_id=${tag(r.clientId)}`;
  return `${USER_ATTRIBUTES_TABLE},user_id=${tag(r.userId)}${client} update_id=${str(r.updateId)},traits=${str(r.traits)},stamps=${str(r.stamps)} ${ns(r.ts)}\n`;
}
