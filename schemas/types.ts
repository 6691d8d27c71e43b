/** The shapes that cross the boundary between the NATS adapter and the pure core. */

/** A message as it came out of JetStream, stripped of the client library's types. */
export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  headers?: Record<string, string>;
  /** JetStream stream sequence: unique and stable across redeliveries. */
  streamSeq: number;
  /** When JetStream stored the message, epoch ms. Stands in for a missing event time. */
  storedAt: number;
}

export type EventKind = 'login' | 'screen' | 'action' | 'metric';

/** A valid tracking event, normalized: every default applied, time as epoch ms. */
export interface TrackingEvent {
  eventId: string;
  /** Event time, epoch ms. */
  ts: number;
  kind: EventKind;
  name: string;
  clientId: string;
  userId: string | null;
  value: number;
  /** Free-form properties as JSON text, or null. */
  properties: string | null;
  receivedAt: number;
  streamSeq: number;
  /** Position inside its message (0 for a single event): with streamSeq, where it came from. */
  index: number;
  subject: string;
  /**
   * In a partition's part of a batch: the event time the whole stream had reached just
   * before this event (other partitions' events included), which moves the watermark first.
   */
  streamTime?: number;
}

export type ClientStatus = 'active' | 'trial' | 'onboarding' | 'suspended' | 'cancelled';
export type Scalar = string | number | boolean | null;

/** A valid patch of one client's attributes. */
/** A user update (tracking.users): the user's client from `ts` on, and traits. */
export interface UserUpdate {
  updateId: string;
  ts: number;
  userId: string;
  clientId: string | null;
  /** Traits present in the patch (null removes one). */
  traits: Record<string, Scalar>;
  receivedAt: number;
  streamSeq: number;
  index: number;
  subject: string;
}

/** A CS tool's word on a task (tracking.tasks): done or cancelled. */
export interface TaskUpdate {
  updateId: string;
  ts: number;
  taskId: string;
  clientId: string;
  status: 'done' | 'cancelled';
  by: string | null;
  streamSeq: number;
  index: number;
}

export interface ClientUpdate {
  updateId: string;
  ts: number;
  clientId: string;
  /** Standard attributes present in the patch (null clears one). */
  fields: Partial<{
    status: ClientStatus;
    name: string | null;
    plan: string | null;
    segment: string | null;
    csm: string | null;
    mrr: number | null;
  }>;
  /** Custom attributes present in the patch (null removes one). */
  attributes: Record<string, Scalar>;
  receivedAt: number;
  streamSeq: number;
  /** Position inside its message (0 for a single update). */
  index: number;
  subject: string;
}

export type ReasonCode =
  | 'payload_too_large'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'empty_batch'
  | 'batch_too_large'
  | 'event_too_large'
  | 'schema_violation'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'unknown_subject'
  | 'unsupported_content_type'
  | 'invalid_arrow'
  | 'too_deep'
  | 'internal_error'
  | 'too_late'
  | 'poison'
  | 'client_limit'
  | 'name_limit'
  | 'user_limit'
  | 'webhook_invalid'
  | 'webhook_failed'
  | 'webhook_refused'
  | 'output_forged'
  | 'unknown_client'
  | 'email_invalid'
  | 'email_failed'
  | 'email_unconfirmed'
  | 'notify_invalid'
  | 'notify_failed'
  | 'notify_refused';

/** Why an input was refused: machine-readable code plus what a person needs to fix it. */
export interface Reason {
  code: ReasonCode;
  message: string;
  path?: string;
  expected?: string;
  actual?: unknown;
  errors?: { path: string; expected: string }[];
}

/** An input refused, with the exact bytes and where they came from. */
export interface DeadLetter {
  reason: Reason;
  subject: string;
  /** The stream the input came from, when not the tracking stream (e.g. the output stream). */
  stream?: string;
  streamSeq: number;
  /** Position inside a batch; undefined when the whole message is refused. */
  index?: number;
  storedAt: number;
  headers?: Record<string, string>;
  payload: Uint8Array;
}

export interface Decoded {
  events: TrackingEvent[];
  clientUpdates: ClientUpdate[];
  userUpdates: UserUpdate[];
  taskUpdates: TaskUpdate[];
  deadLetters: DeadLetter[];
  /** A wall-clock tick: event time has reached this (see operators/types.ts EventBatch). */
  clock?: number;
}
