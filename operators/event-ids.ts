/**
 * `EventIds` — a producer's event id counts once, however often it is published.
 *
 * Keeps every producer id (scoped by client) for `horizonMs` of JetStream arrival time after
 * its first arrival, and drops a later event with the same (client, id) as a duplicate. The
 * check is exact: the ids' bytes are kept and compared, not only hashed. Arrival time is the
 * time JetStream stored the message, so a replay of the stream makes the same decisions;
 * ids derived from the stream position (`js-<seq>[-<index>]`) are unique by construction and
 * never kept.
 *
 * Memory is bounded by `maxIds`: when full, the oldest ids are forgotten before their
 * horizon and `effectiveHorizonMs` says how far back the check then reaches. Ids leave in
 * the order they came, so everything lives in rings of typed arrays — the keys' UTF-8 bytes,
 * their lengths, arrival times and hashes — with an open-addressing index over them: millions
 * of ids are a few buffers, which the garbage collector never walks and a checkpoint copies.
 *
 * Emits (from `apply`) the events to keep, in order, and counts the duplicates dropped.
 */
import type { TrackingEvent } from '../schemas/types.js';
import { copyInSteps, type Pause } from './steps.js';

/** The live ids, oldest first: their bytes one after another, each one's length and arrival. */
export interface EventIdsSnapshot {
  bytes: Uint8Array;
  lengths: Uint16Array;
  arrivals: Float64Array;
  newest: number;
}

export interface EventIdsOptions {
  horizonMs: number;
  maxIds: number;
}

/** True when the id is the one Pulso derives from the stream position when a producer gives none. */
export function isDerivedId(e: Pick<TrackingEvent, 'eventId' | 'streamSeq' | 'index'>): boolean {
  const id = e.eventId;
  return (
    id.startsWith('js-') && (id === `js-${e.streamSeq}` || id === `js-${e.streamSeq}-${e.index}`)
  );
}

const EMPTY = -1;
const encoder = new TextEncoder();
/** A client id and an id, 128 characters each, at 3 bytes a character at most, and a separator. */
const MAX_KEY_BYTES = 2 * 128 * 3 + 1;

export class EventIds {
  // Entries, a ring in arrival order: entry k is at k & entryMask.
  private starts: Float64Array; // absolute byte position of the key
  private lengths: Uint16Array;
  private arrivals: Float64Array;
  private hashes: Int32Array;
  private entryMask: number;
  private head = 0; // absolute number of the oldest entry
  private count = 0;
  // Key bytes, a ring: absolute position p is at p & byteMask.
  private bytes: Uint8Array;
  private byteMask: number;
  private byteHead = 0;
  private byteTail = 0;
  // Index: hash slot → entry ring position, EMPTY when free.
  private index: Int32Array;
  private indexMask: number;
  private readonly scratch = new Uint8Array(MAX_KEY_BYTES);
  /** Newest arrival time seen: "now" for the horizon. */
  private newest = -Infinity;
  duplicates = 0;

  constructor(
    private readonly o: EventIdsOptions,
    snapshot?: EventIdsSnapshot,
  ) {
    const entries = pow2(Math.max(1024, snapshot?.lengths.length ?? 0));
    this.starts = new Float64Array(entries);
    this.lengths = new Uint16Array(entries);
    this.arrivals = new Float64Array(entries);
    this.hashes = new Int32Array(entries);
    this.entryMask = entries - 1;
    const bytes = pow2(Math.max(64 * 1024, 2 * (snapshot?.bytes.length ?? 0)));
    this.bytes = new Uint8Array(bytes);
    this.byteMask = bytes - 1;
    this.index = new Int32Array(2 * entries).fill(EMPTY);
    this.indexMask = 2 * entries - 1;
    if (snapshot) {
      this.newest = snapshot.newest;
      for (let i = 0, at = 0; i < snapshot.lengths.length; i++) {
        const n = snapshot.lengths[i]!;
        this.scratch.set(snapshot.bytes.subarray(at, at + n));
        this.insert(n, hashOf(this.scratch, n), snapshot.arrivals[i]!);
        at += n;
      }
    }
  }

  get size(): number {
    return this.count;
  }

  /** How far back the check reaches now: the horizon, or less when `maxIds` forced forgetting. */
  get effectiveHorizonMs(): number {
    if (this.count < this.o.maxIds) return this.o.horizonMs;
    return Math.min(this.o.horizonMs, this.newest - this.arrivals[this.head & this.entryMask]!);
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
      const n = this.encode(e.clientId, e.eventId);
      const h = hashOf(this.scratch, n);
      if (this.find(n, h) >= 0) {
        this.duplicates++;
        continue;
      }
      if (this.count >= this.o.maxIds) this.forgetOldest();
      this.insert(n, h, e.receivedAt);
      kept.push(e);
    }
    return kept;
  }

  /** Writes "<client>\0<id>" as UTF-8 into the scratch buffer; its length. */
  private encode(clientId: string, eventId: string): number {
    const a = encoder.encodeInto(clientId, this.scratch).written;
    this.scratch[a] = 0;
    return a + 1 + encoder.encodeInto(eventId, this.scratch.subarray(a + 1)).written;
  }

  /** Ring position of the entry holding the scratch key, or -1. */
  private find(n: number, h: number): number {
    for (let i = h & this.indexMask; ; i = (i + 1) & this.indexMask) {
      const at = this.index[i]!;
      if (at === EMPTY) return -1;
      if (this.hashes[at] === h && this.lengths[at] === n && this.sameBytes(at, n)) return at;
    }
  }

  private sameBytes(at: number, n: number): boolean {
    const start = this.starts[at]!;
    for (let j = 0; j < n; j++)
      if (this.bytes[(start + j) & this.byteMask] !== this.scratch[j]) return false;
    return true;
  }

  private insert(n: number, h: number, arrival: number): void {
    if (this.count === this.entryMask + 1) this.growEntries();
    if (this.byteTail + n - this.byteHead > this.byteMask + 1) this.growBytes(n);
    const at = (this.head + this.count) & this.entryMask;
    for (let j = 0; j < n; j++) this.bytes[(this.byteTail + j) & this.byteMask] = this.scratch[j]!;
    this.starts[at] = this.byteTail;
    this.lengths[at] = n;
    this.arrivals[at] = arrival;
    this.hashes[at] = h;
    this.byteTail += n;
    this.count++;
    let i = h & this.indexMask;
    while (this.index[i] !== EMPTY) i = (i + 1) & this.indexMask;
    this.index[i] = at;
  }

  private forgetOldest(): void {
    const at = this.head & this.entryMask;
    // Remove it from the index, shifting the rest of its cluster back (no tombstones).
    let i = this.hashes[at]! & this.indexMask;
    while (this.index[i] !== at) i = (i + 1) & this.indexMask;
    for (let j = (i + 1) & this.indexMask; this.index[j] !== EMPTY; j = (j + 1) & this.indexMask) {
      const home = this.hashes[this.index[j]!]! & this.indexMask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      this.index[i] = this.index[j]!;
      i = j;
    }
    this.index[i] = EMPTY;
    this.byteHead = this.starts[at]! + this.lengths[at]!;
    this.head++;
    this.count--;
  }

  private expire(): void {
    const before = this.newest - this.o.horizonMs;
    while (this.count > 0 && this.arrivals[this.head & this.entryMask]! <= before)
      this.forgetOldest();
  }

  /** Doubles the entry rings and the index, keeping entries in order from position 0. */
  private growEntries(): void {
    const size = 2 * (this.entryMask + 1);
    const starts = new Float64Array(size);
    const lengths = new Uint16Array(size);
    const arrivals = new Float64Array(size);
    const hashes = new Int32Array(size);
    for (let k = 0; k < this.count; k++) {
      const from = (this.head + k) & this.entryMask;
      starts[k] = this.starts[from]!;
      lengths[k] = this.lengths[from]!;
      arrivals[k] = this.arrivals[from]!;
      hashes[k] = this.hashes[from]!;
    }
    this.starts = starts;
    this.lengths = lengths;
    this.arrivals = arrivals;
    this.hashes = hashes;
    this.entryMask = size - 1;
    this.head = 0;
    this.index = new Int32Array(2 * size).fill(EMPTY);
    this.indexMask = 2 * size - 1;
    for (let at = 0; at < this.count; at++) {
      let i = hashes[at]! & this.indexMask;
      while (this.index[i] !== EMPTY) i = (i + 1) & this.indexMask;
      this.index[i] = at;
    }
  }

  /** Doubles the byte ring until `extra` more bytes fit; positions stay absolute. */
  private growBytes(extra: number): void {
    let size = this.byteMask + 1;
    while (this.byteTail + extra - this.byteHead > size) size *= 2;
    const bytes = new Uint8Array(size);
    for (let p = this.byteHead; p < this.byteTail; p++)
      bytes[p & (size - 1)] = this.bytes[p & this.byteMask]!;
    this.bytes = bytes;
    this.byteMask = size - 1;
  }

  snapshot(): EventIdsSnapshot {
    const live = this.byteTail - this.byteHead;
    const bytes = new Uint8Array(live);
    for (let j = 0; j < live; j++) bytes[j] = this.bytes[(this.byteHead + j) & this.byteMask]!;
    return this.pictureWith(bytes);
  }

  /** The same picture as `snapshot()`, its bytes copied in pieces (see steps.ts). */
  async snapshotInSteps(pause: Pause): Promise<EventIdsSnapshot> {
    // The live bytes are one or two runs of the ring: copied as such, in pieces.
    const live = this.byteTail - this.byteHead;
    const from = this.byteHead & this.byteMask;
    const firstRun = Math.min(live, this.byteMask + 1 - from);
    const bytes = new Uint8Array(live);
    bytes.set(await copyInSteps(this.bytes.subarray(from, from + firstRun), firstRun, pause));
    if (firstRun < live) bytes.set(await copyInSteps(this.bytes, live - firstRun, pause), firstRun);
    await pause();
    return this.pictureWith(bytes);
  }

  private pictureWith(bytes: Uint8Array): EventIdsSnapshot {
    const lengths = new Uint16Array(this.count);
    const arrivals = new Float64Array(this.count);
    for (let k = 0; k < this.count; k++) {
      const at = (this.head + k) & this.entryMask;
      lengths[k] = this.lengths[at]!;
      arrivals[k] = this.arrivals[at]!;
    }
    return { bytes, lengths, arrivals, newest: this.newest };
  }
}

function pow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

/** FNV-1a over the first n bytes. */
function hashOf(b: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < n; j++) h = Math.imul(h ^ b[j]!, 0x01000193);
  return h & 0x7fffffff;
}
