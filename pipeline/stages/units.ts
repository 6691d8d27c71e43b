/** What flows between the stages of the tracking chain (chain.ts), in stream order. */
import type { FigureBatch } from '../../operators/usage-figures.js';
import type { DailyScore } from '../../operators/playbooks/rules.js';
import type { Output } from '../../operators/playbooks/outputs.js';
import type {
  ClientUpdate,
  DeadLetter,
  TrackingEvent,
  UserUpdate,
  TaskUpdate,
} from '../../schemas/types.js';
import type { ClientRow, UserRow } from '../contract/client-directory.js';
import type { Write } from '../outbox.js';

/** When a slice is over, whether a write may be due (see outbox.ts). */
export type WriteCheck =
  /** Not at all: a slice closed early to isolate a suspect message. */
  | 'none'
  /** Ended by its size, a client update or a clock tick: a write only if the fetch is long. */
  | 'early'
  /** The last slice of a fetch: a write if the flush interval has passed. */
  | 'fetchEnd';

/** Consecutive decoded messages of one fetch, folded together. */
export interface Slice {
  events: TrackingEvent[];
  updates: ClientUpdate[];
  /** User updates (tracking.users): applied after the slice's events, as the stream orders them. */
  userUpdates: UserUpdate[];
  /** A CS tool's word on tasks (tracking.tasks): queued for the next midnight's run. */
  taskUpdates: TaskUpdate[];
  deadLetters: DeadLetter[];
  messages: number;
  lastSeq: number;
  /** Messages in the stream after this slice, as its fetch said. */
  pending: number;
  clock?: number;
  fetchStartedAt: number;
  check: WriteCheck;
  /** Called once the slice is folded and, if it cut a write, that write has started. */
  settle(): void;
  /** Called once the slice is folded (a partition's part of a slice: see split.ts). */
  folded?(): void;
  /** A partition's part: the event time the whole stream reached by the slice's end (split.ts). */
  reached?: number;
  /** False on the sub-slices that do not count the slice's messages (all but one). */
  primary?: boolean;
}

/** A slice folded through the figures and the rules. */
export interface Folded {
  slice: Slice;
  /** Undefined for a slice with no message (the end of a fetch that held only repeats). */
  figures?: FigureBatch;
  clients: ClientRow[];
  /** The user rows its user updates wrote. */
  users: UserRow[];
  outputs: Output[];
  scores: DailyScore[];
}

/** The flush timer: a write of whatever is held, even while no message arrives. */
export interface Tick {
  tick: true;
}

export const isTick = (u: object): u is Tick => 'tick' in u;

/** One write and the checkpoint that covers it, cut while nothing was being folded. */
export interface Cut {
  write: Write;
  /** Stream sequence the write brings QuestDB to. */
  seq: number;
  /** The checkpoint of the state at the cut, handed to the writer thread (none: not due). */
  checkpoint?: { staged: Promise<Uint8Array>; watermark: number | null };
  /** The cut's own cost so far (ms): the outbox's encoding and the state's picture. */
  cutMs: number;
  /** Called as its write starts: the slice that cut it may be settled. */
  accepted(): void;
}

/** What each write did, once it and its checkpoint are done. */
export interface WriteResult {
  /** Stream sequence whose effects are now in QuestDB. */
  lastSeq: number;
  rows: number;
  deadLetters: number;
  /** Rules outputs published (and skipped as already in the stream). */
  published: number;
  skipped: number;
  checkpointed: boolean;
  encodeMs: number;
  writeMs: number;
  checkpointMs: number;
}
