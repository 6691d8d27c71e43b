/**
 * Segment's tracking calls as Pulso's contract: pure, no I/O. Each call becomes one
 * tracking event (track, page, screen), one client attribute update (group), or a reason
 * it cannot be one. The mapping (README, "HTTP gateway"):
 *
 *   track   → kind action, name from `actionName` ("acao:{event}"); a `loginEvents` event is
 *             a login; a `metricEvents` event is a metric whose value is the named property
 *   page    → kind screen, name from `screenName` ("tela:{name}")
 *   screen  → the same
 *   group   → client attribute update: groupId is the client; traits status, name, plan,
 *             segment, csm and mrr its fields, every other scalar trait a custom attribute;
 *             and a user update: the user belongs to that client from then on
 *   identify → user update: the user's traits (and client, when context.groupId names it)
 *   client  → context.groupId, else the `clientProperty` property (track/page/screen), else
 *             left to the pipeline: the client the user's latest group call named
 *   id      → messageId (so an SDK's retry counts once)
 *   time    → timestamp corrected for the device's clock: receivedAt − (sentAt − timestamp)
 *
 * The result is plain JSON in Pulso's own schemas: the pipeline validates it as it does
 * anything published on NATS, and the gateway validates it first with the same code.
 */
import type { Reason } from '../../schemas/types.js';

export interface SegmentMapping {
  clientProperty: string;
  screenName: string;
  actionName: string;
  loginEvents: string[];
  metricEvents: Record<string, string>;
}

/** What a call becomes: an event, a client update and/or a user update — or why nothing. */
export type Mapped =
  | {
      event?: Record<string, unknown>;
      update?: Record<string, unknown>;
      user?: Record<string, unknown>;
    }
  | { reason: Reason };

type Obj = Record<string, unknown>;
/** The client attribute update's own fields (schemas/client-update.schema.json). */
const CLIENT_FIELDS = new Set(['status', 'name', 'plan', 'segment', 'csm', 'mrr']);
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;

/** Names repeat: their slugs are remembered (a bounded memo, cleared when full). */
const slugs = new Map<string, string>();

/** A Segment name as a Pulso event name: letters, digits and `_ : . - /`, lower case. */
export function slug(s: string): string {
  let out = slugs.get(s);
  if (out === undefined) {
    if (slugs.size >= 10_000) slugs.clear();
    slugs.set(s, (out = slugOf(s)));
  }
  return out;
}

function slugOf(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_:./-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
}

const refused = (message: string, path: string, expected: string): { reason: Reason } => ({
  reason: { code: 'schema_violation', message, path, expected },
});

/** Epoch ms of an ISO time, or undefined. */
const timeOf = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * The event's time, with Segment's correction for a device clock that is off: the time the
 * device says it happened, moved by how far the device's clock was from ours when it sent.
 */
export function correctedTime(call: Obj, receivedAt: number): number | undefined {
  const at = timeOf(call.originalTimestamp) ?? timeOf(call.timestamp);
  if (at === undefined) return undefined;
  const sentAt = timeOf(call.sentAt);
  return sentAt === undefined ? at : receivedAt - (sentAt - at);
}

/** One Segment call (its `type` given by the path or the batch item) as Pulso's contract. */
export function fromSegment(
  type: string,
  call: unknown,
  m: SegmentMapping,
  receivedAt: number,
): Mapped {
  if (!isObj(call)) return refused('a call must be a JSON object', '', 'a JSON object');
  const context = isObj(call.context) ? call.context : {};
  const properties = isObj(call.properties) ? call.properties : {};
  const traits = isObj(call.traits) ? call.traits : {};
  const userId = str(call.userId) ?? str(call.anonymousId);
  const id = str(call.messageId);
  const ts = correctedTime(call, receivedAt);
  /** The event, its optional fields set only when present (plain assignments: hot path). */
  const eventOf = (
    kind: string,
    client: string | undefined,
    eventName?: string,
    value?: number,
  ) => {
    const e: Obj = {};
    if (id) e.id = id;
    if (userId) e.user_id = userId;
    if (ts !== undefined) e.timestamp = ts;
    e.kind = kind;
    // No client named: the pipeline counts it for the user's client (their latest group).
    if (client !== undefined) e.client_id = client;
    if (eventName !== undefined) e.name = eventName;
    if (value !== undefined) e.value = value;
    return { event: e };
  };
  const client = str(context.groupId) ?? str(properties[m.clientProperty]);

  switch (type) {
    case 'group': {
      const groupId = str(call.groupId);
      if (!groupId) return refused('a group call needs its groupId', '/groupId', 'the client id');
      // Pulso's own client fields by name; every other scalar trait is a custom attribute.
      const fields: Obj = {};
      const attributes: Obj = {};
      for (const [k, v] of Object.entries(traits)) {
        if (!(v === null || ['string', 'number', 'boolean'].includes(typeof v))) continue;
        if (CLIENT_FIELDS.has(k)) fields[k] = v;
        else attributes[k] = v;
      }
      const update = {
        ...(id ? { id } : {}),
        client_id: groupId,
        ...(ts !== undefined ? { timestamp: ts } : {}),
        ...fields,
        attributes,
      };
      if (!userId) return { update };
      return {
        update,
        user: {
          ...(id ? { id } : {}),
          user_id: userId,
          client_id: groupId,
          ...(ts !== undefined ? { timestamp: ts } : {}),
        },
      };
    }
    case 'identify': {
      if (!userId) return refused('an identify call needs its userId', '/userId', 'the user id');
      const scalars: Obj = {};
      for (const [k, v] of Object.entries(traits))
        if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) scalars[k] = v;
      const group = str(context.groupId);
      if (!group && Object.keys(scalars).length === 0)
        return refused(
          'an identify call without traits or a group says nothing',
          '/traits',
          'traits',
        );
      return {
        user: {
          ...(id ? { id } : {}),
          user_id: userId,
          ...(group ? { client_id: group } : {}),
          ...(ts !== undefined ? { timestamp: ts } : {}),
          ...(Object.keys(scalars).length > 0 ? { traits: scalars } : {}),
        },
      };
    }
    case 'track': {
      const event = str(call.event);
      if (!event) return refused('a track call needs its event', '/event', 'the event name');
      if (!client && !userId) return noClient(m);
      if (m.loginEvents.includes(event)) return eventOf('login', client);
      const valueOf = Object.hasOwn(m.metricEvents, event) ? m.metricEvents[event] : undefined;
      if (valueOf !== undefined) {
        const value = properties[valueOf];
        if (typeof value !== 'number')
          return refused(
            `metric event ${JSON.stringify(event)} needs a numeric ${valueOf}`,
            `/properties/${valueOf}`,
            'a number',
          );
        return eventOf('metric', client, name(m.actionName, 'event', event), value);
      }
      return eventOf('action', client, name(m.actionName, 'event', event));
    }
    case 'page':
    case 'screen': {
      const page = isObj(context.page) ? context.page : {};
      const named =
        str(call.name) ?? str(properties.name) ?? str(properties.path) ?? str(page.path) ?? '/';
      if (!client && !userId) return noClient(m);
      return eventOf('screen', client, name(m.screenName, 'name', named));
    }
    default:
      return {
        reason: {
          code: 'schema_violation',
          message: `${type} calls are not stored by Pulso`,
          path: '/type',
          expected: 'track, page, screen, group or identify',
        },
      };
  }
}

function name(template: string, key: string, value: string): string {
  return template.replace(`{${key}}`, slug(value) || 'unnamed');
}

function noClient(m: SegmentMapping): { reason: Reason } {
  return refused(
    'the call names no client account',
    '/context/groupId',
    `the client id in context.groupId (Segment's B2B convention) or properties.${m.clientProperty}, or a userId whose group call named it`,
  );
}
