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

export function trackingStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.trackingStream;
  return {
    name: s.name,
    subjects: [TRACKING_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: s.maxAgeDays * DAY_NS,
    max_bytes: s.maxBytes,
    max_msg_size: s.maxMessageBytes,
    duplicate_window: nanos(s.duplicateWindowSeconds * 1000),
    num_replicas: s.replicas,
  };
}

export function deadLetterStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.deadLetterStream;
  return {
    name: s.name,
    subjects: [`${DEAD_LETTER_SUBJECT_ROOT}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: s.maxAgeDays * DAY_NS,
    max_bytes: s.maxBytes,
    duplicate_window: nanos(c.trackingStream.duplicateWindowSeconds * 1000),
    num_replicas: s.replicas,
  };
}

export function outputStreamConfig(c: Config['nats']): Partial<StreamConfig> {
  const s = c.outputStream;
  return {
    name: s.name,
    subjects: [OUTPUT_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: s.maxAgeDays * DAY_NS,
    max_bytes: s.maxBytes,
    duplicate_window: nanos(s.duplicateWindowSeconds * 1000),
    num_replicas: s.replicas,
  };
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
