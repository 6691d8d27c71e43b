/**
 * The JetStream streams, with an explicit configuration: created when absent, read back,
 * and refused on any difference (2.9 silently ignores fields it does not know, so only the
 * read-back tells what the server really holds). Ingest needs no durable consumer: it
 * reads with an ordered consumer from its own checkpoint (see pipeline/checkpoint.ts).
 */
import {
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';
import type { Config } from '../../config/types.js';
import { StreamMismatchError } from '../../errors.js';
import { DEAD_LETTER_SUBJECT_ROOT } from '../../contract/dead-letter.js';
import { OUTPUT_SUBJECTS } from './outputs.js';

export const TRACKING_SUBJECTS = 'tracking.>';
const DAY_NS = 86_400 * 1e9;

/** A file-backed stream that keeps messages for an age and a size, discarding the oldest. */
function limitsStream(
  name: string,
  subject: string,
  s: { maxAgeDays: number; maxBytes: number; replicas: number },
  duplicateWindowSeconds: number,
): Partial<StreamConfig> {
  return {
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: s.maxAgeDays * DAY_NS,
    max_bytes: s.maxBytes,
    duplicate_window: nanos(duplicateWindowSeconds * 1000),
    num_replicas: s.replicas,
  };
}

export function trackingStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.trackingStream;
  return {
    ...limitsStream(s.name, TRACKING_SUBJECTS, s, s.duplicateWindowSeconds),
    max_msg_size: s.maxMessageBytes,
  };
}

export function deadLetterStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.deadLetterStream;
  return limitsStream(
    s.name,
    `${DEAD_LETTER_SUBJECT_ROOT}.>`,
    s,
    c.trackingStream.duplicateWindowSeconds,
  );
}

export function outputStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.outputStream;
  return limitsStream(s.name, OUTPUT_SUBJECTS, s, s.duplicateWindowSeconds);
}

export interface EnsureResult {
  created: string[];
  updated: string[];
}

/** Creates what is missing; refuses (or with `apply`, updates) what differs. */
export async function ensureStreams(
  jsm: JetStreamManager,
  c: Config['nats'],
  apply = false,
): Promise<EnsureResult> {
  const result: EnsureResult = { created: [], updated: [] };
  for (const want of [trackingStreamConfig(c), deadLetterStreamConfig(c), outputStreamConfig(c)]) {
    const name = want.name!;
    const have = await jsm.streams
      .info(name)
      .catch((e: Error) => (isNotFound(e) ? undefined : Promise.reject(e)));
    if (!have) {
      await jsm.streams.add(want);
      result.created.push(`stream ${name}`);
    } else if (differences(want, have.config).length > 0) {
      if (!apply) throw new StreamMismatchError(`stream ${name}`, differences(want, have.config));
      await jsm.streams.update(name, want);
      result.updated.push(`stream ${name}`);
    }
    const check = differences(want, (await jsm.streams.info(name)).config);
    if (check.length > 0)
      throw new StreamMismatchError(`stream ${name} (as read back from the server)`, check);
  }
  return result;
}

function differences(
  want: object,
  have: object,
): { key: string; expected: unknown; actual: unknown }[] {
  const out: { key: string; expected: unknown; actual: unknown }[] = [];
  for (const [key, expected] of Object.entries(want)) {
    const actual = (have as Record<string, unknown>)[key];
    if (JSON.stringify(expected) !== JSON.stringify(actual)) out.push({ key, expected, actual });
  }
  return out;
}

function isNotFound(e: Error): boolean {
  return /not found/i.test(e.message);
}
