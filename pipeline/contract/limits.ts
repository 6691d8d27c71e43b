/** The limits decoding enforces; taken from the `ingest` section of the configuration. */
export interface Limits {
  /** Largest single event, as JSON bytes (whole message, or one element of a batch). */
  maxEventBytes: number;
  /** Most events in one batch message. */
  maxBatchEvents: number;
  /** Largest message of any kind. */
  maxMessageBytes: number;
  /** How far an event time may be ahead of the time JetStream stored the message. */
  maxFutureSkewMs: number;
  /** Deepest nesting of arrays and objects in a message (or an NDJSON line). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxEventBytes: 8192,
  maxBatchEvents: 10_000,
  maxMessageBytes: 1_048_576,
  maxFutureSkewMs: 300_000,
  maxDepth: 16,
};
