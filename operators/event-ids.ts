/**
 * `EventIds` — a producer's event id counts once, however often it is published.
 *
 * Keeps every producer id (scoped by client) for `horizonMs` of JetStream arrival time after
 * its first arrival, and drops a later event with the same (client, id) as a duplicate. The
 * check is exact: ids are kept as they are, not hashed or sampled. Arrival time is the time
 * JetStream stored the message, so a replay of the stream makes the same decisions; ids
 * derived from the stream position (`js-<seq>[-<index>]`) are unique by construction and
 * never kept.
 *
 * Memory is bounded by `maxIds`: when full, the oldest ids are forgotten before their
 * horizon and `effectiveHorizonMs` says how far back the check then reaches. Ids leave in
 * the order they came (a ring), so forgetting costs nothing per event.
 *
 * Emits (from `apply`) the events to keep, in order, and counts the duplicates dropped.
 */
import type { TrackingEvent } from '../pipeline/contract/types.js';
import type { Pause } from './steps.js';

/**
 * Packed, so that a picture of millions of ids is three buffers, not millions of strings:
 * the keys concatenated in arrival order, each one's length, and its arrival time.
 */
export interface EventIdsSnapshot {
  text: string;
  lengths: Uint16Array;
  arrivals: Float64Array;
  newest: number;
}

export interface EventIdsOptions {
  horizonMs: number;
  maxIds: number;
}

const SEP = '\u0000';

/** True when the id is the one Pulso derives from the stream position when a producer gives none. */
export function isDerivedId(e: Pick<TrackingEvent, 'eventId' | 'streamSeq' | 'index'>): boolean {
  const id = e.eventId;
  return (
    id.startsWith('js-') && (id === `js-${e.streamSeq}` || id === `js-${e.streamSeq}-${e.index}`)
  );
}

export class EventIds {
  private readonly seen = new Set<string>();
  /** Ring of keys in arrival order, with their arrival times. */
  private keys: string[];
  private arrivals: Float64Array;
  private head = 0;
  private count = 0;
  /** Newest arrival time seen: "now" for the horizon. */
  private newest = -Infinity;
  duplicates = 0;

  constructor(
    private readonly o: EventIdsOptions,
    snapshot?: EventIdsSnapshot,
  ) {
    const capacity = Math.max(16, Math.min(o.maxIds, snapshot?.lengths.length ?? 0) * 2);
    this.keys = new Array<string>(capacity);
    this.arrivals = new Float64Array(capacity);
    if (snapshot) {
      this.newest = snapshot.newest;
      for (let i = 0, at = 0; i < snapshot.lengths.length; i++) {
        const end = at + snapshot.lengths[i]!;
        this.remember(snapshot.text.slice(at, end), snapshot.arrivals[i]!);
        at = end;
      }
    }
  }

  get size(): number {
    return this.count;
  }

  /** How far back the check reaches now: the horizon, or less when `maxIds` forced forgetting. */
  get effectiveHorizonMs(): number {
    if (this.count < this.o.maxIds) return this.o.horizonMs;
    return Math.min(this.o.horizonMs, this.newest - this.arrivals[this.head]!);
  }

  /** The events of `events` that are not duplicates, in order. */
  apply(events: readonly TrackingEvent[]): TrackingEvent[] {
    const kept: TrackingEvent[] = [];
    for (const e of events) {
      if (e.receivedAt > this.newest) {
        this.newest = e.receivedAt;
        this.expire();
      }
      if (isDerivedId(e)) {
        kept.push(e);
        continue;
      }
      const key = e.clientId + SEP + e.eventId;
      if (this.seen.has(key)) {
        this.duplicates++;
        continue;
      }
      if (this.count >= this.o.maxIds) this.forgetOldest();
      this.remember(key, e.receivedAt);
      kept.push(e);
    }
    return kept;
  }

  private remember(key: string, arrival: number): void {
    if (this.count === this.keys.length) this.grow();
    const at = (this.head + this.count) % this.keys.length;
    this.keys[at] = key;
    this.arrivals[at] = arrival;
    this.count++;
    this.seen.add(key);
  }

  private forgetOldest(): void {
    this.seen.delete(this.keys[this.head]!);
    this.keys[this.head] = undefined as unknown as string;
    this.head = (this.head + 1) % this.keys.length;
    this.count--;
  }

  private expire(): void {
    const before = this.newest - this.o.horizonMs;
    while (this.count > 0 && this.arrivals[this.head]! <= before) this.forgetOldest();
  }

  private grow(): void {
    const capacity = this.keys.length * 2;
    const keys = new Array<string>(capacity);
    const arrivals = new Float64Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.keys.length;
      keys[i] = this.keys[from]!;
      arrivals[i] = this.arrivals[from]!;
    }
    this.keys = keys;
    this.arrivals = arrivals;
    this.head = 0;
  }

  snapshot(): EventIdsSnapshot {
    return this.pack(0, this.count, []);
  }

  /** The same picture as `snapshot()`, packed a piece at a time (see steps.ts). */
  async snapshotInSteps(pause: Pause): Promise<EventIdsSnapshot> {
    const pieces: string[] = [];
    const lengths = new Uint16Array(this.count);
    const arrivals = new Float64Array(this.count);
    for (let i = 0; i < this.count; i += PIECE) {
      this.packInto(i, Math.min(this.count, i + PIECE), pieces, lengths, arrivals);
      await pause();
    }
    return { text: pieces.join(''), lengths, arrivals, newest: this.newest };
  }

  private pack(from: number, to: number, pieces: string[]): EventIdsSnapshot {
    const lengths = new Uint16Array(this.count);
    const arrivals = new Float64Array(this.count);
    this.packInto(from, to, pieces, lengths, arrivals);
    return { text: pieces.join(''), lengths, arrivals, newest: this.newest };
  }

  /** Keys i in [from, to) of the ring, oldest first, joined as one piece. */
  private packInto(
    from: number,
    to: number,
    pieces: string[],
    lengths: Uint16Array,
    arrivals: Float64Array,
  ): void {
    const piece = new Array<string>(to - from);
    for (let i = from, at = (this.head + from) % this.keys.length; i < to; i++) {
      const key = this.keys[at]!;
      piece[i - from] = key;
      lengths[i] = key.length;
      arrivals[i] = this.arrivals[at]!;
      if (++at === this.keys.length) at = 0;
    }
    pieces.push(piece.join(''));
  }
}

/** Keys packed between pauses. */
const PIECE = 32_768;
