/**
 * CustomerX's tracking API body (`POST /api/v1/trackings`) as one Pulso tracking event:
 * pure, no I/O. Its documented fields:
 *
 *   external_id_client   the client account                  → client_id
 *   type_tracking        screen | action | login              → kind
 *   identifier           the screen's or action's name        → name (login: "login")
 *   email                the user                             → user_id (unless external_id_contact)
 *   external_id_contact  the user's id in your system          → user_id
 *   amount               how many it stands for (default 1)   → value
 *   date_tracking        a retroactive day, dd/mm/yyyy        → today: the time it was received;
 *                                                               an earlier day: its noon in
 *                                                               windows.timeZone (older than the
 *                                                               allowed lateness: too late)
 *   external_id_product  the product                          → properties.product
 */
import { DateTime } from 'luxon';
import type { Reason } from '../../schemas/types.js';

type Obj = Record<string, unknown>;

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim().length > 0
    ? v.trim()
    : typeof v === 'number'
      ? String(v)
      : undefined;

const refused = (message: string, path: string, expected: string): { reason: Reason } => ({
  reason: { code: 'schema_violation', message, path, expected },
});

export function fromCustomerX(
  body: unknown,
  timeZone: string,
  receivedAt: number,
): { event: Record<string, unknown> } | { reason: Reason } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return refused('a tracking must be a JSON object', '', 'a JSON object');
  const b = body as Obj;
  const client = text(b.external_id_client);
  if (!client)
    return refused('external_id_client is required', '/external_id_client', 'the client id');
  const kind = b.type_tracking;
  if (kind !== 'screen' && kind !== 'action' && kind !== 'login')
    return refused(
      'type_tracking must be screen, action or login',
      '/type_tracking',
      'screen, action or login',
    );
  const identifier = text(b.identifier);
  if (!identifier && kind !== 'login')
    return refused('identifier is required', '/identifier', "the screen's or action's name");
  const user = text(b.external_id_contact) ?? text(b.email);
  let amount = 1;
  if (b.amount !== undefined && b.amount !== null && b.amount !== '') {
    amount = Number(b.amount);
    if (!Number.isInteger(amount) || amount < 1 || amount > 1_000_000)
      return refused(
        'amount must be a whole number from 1 to 1,000,000',
        '/amount',
        'an integer 1–1,000,000',
      );
  }
  let timestamp: number | undefined;
  if (b.date_tracking !== undefined && b.date_tracking !== null && b.date_tracking !== '') {
    const d = DateTime.fromFormat(String(b.date_tracking), 'dd/MM/yyyy', { zone: timeZone });
    if (!d.isValid)
      return refused(
        'date_tracking must be a day as dd/mm/yyyy',
        '/date_tracking',
        'dd/mm/yyyy, e.g. 25/11/2026',
      );
    const today = DateTime.fromMillis(receivedAt, { zone: timeZone }).startOf('day');
    if (d > today)
      return refused('date_tracking is after today', '/date_tracking', 'today or an earlier day');
    timestamp = d.equals(today) ? receivedAt : d.set({ hour: 12 }).toMillis();
  }
  const product = text(b.external_id_product);
  const email = text(b.email);
  const properties = {
    ...(product ? { product } : {}),
    ...(email && text(b.external_id_contact) ? { email } : {}),
  };
  return {
    event: {
      kind,
      client_id: client,
      ...(kind === 'login' ? {} : { name: identifier }),
      ...(user ? { user_id: user } : {}),
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(amount !== 1 ? { value: amount } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    },
  };
}
