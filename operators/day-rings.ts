/**
 * Per-key daily counters over the last R days, in flat typed arrays so memory per key is
 * fixed (it never grows with the number of events) and a snapshot is a few buffer copies.
 *
 * Each key owns a slot: a ring of R 16-bit day counts indexed by day mod R, plus the last
 * day written. A count that reaches 65,535 moves to an overflow map, so counts stay exact.
 * Value sums (metrics, or events carrying a value other than 1) get a Float64 ring only
 * when first needed: until then the sum equals the count.
 */
import { copyInSteps, type Pause } from './steps.js';
import { grown } from './growable.js';

const FULL = 0xffff;
const NO_SUM = -1;

export interface DayRingsSnapshot {
  ringDays: number;
  slots: number;
  lastDay: Int32Array;
  counts: Uint16Array;
  overflow: [number, number][];
  sumSlot: Int32Array;
  sums: Float64Array;
  sumSlots: number;
  free: number[];
}

export class DayRings {
  private capacity: number;
  private slots = 0;
  private lastDay: Int32Array;
  private counts: Uint16Array;
  private overflow = new Map<number, number>();
  private sumSlot: Int32Array;
  private sums: Float64Array;
  private sumSlots = 0;
  private free: number[] = [];

  constructor(
    readonly ringDays: number,
    initialCapacity = 1024,
  ) {
    this.capacity = initialCapacity;
    this.lastDay = new Int32Array(initialCapacity);
    this.counts = new Uint16Array(initialCapacity * ringDays);
    this.sumSlot = new Int32Array(initialCapacity).fill(NO_SUM);
    this.sums = new Float64Array(64 * ringDays);
  }

  get size(): number {
    return this.slots - this.free.length;
  }

  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.capacity) this.grow();
    return this.slots++;
  }

  /** Forgets a slot (an idle key); its memory is reused by the next allocation. */
  release(slot: number): void {
    const base = slot * this.ringDays;
    for (let i = 0; i < this.ringDays; i++) this.overflow.delete(base + i);
    this.counts.fill(0, base, base + this.ringDays);
    const s = this.sumSlot[slot]!;
    if (s !== NO_SUM) this.sums.fill(0, s * this.ringDays, (s + 1) * this.ringDays);
    // The sum ring is kept with the slot: a reused slot starts from zeros either way.
    this.lastDay[slot] = 0;
    this.free.push(slot);
  }

  last(slot: number): number {
    return this.lastDay[slot]!;
  }

  /**
   * Adds one event of value `value` on `day`. Returns false (and counts nothing) when the
   * day has already left the ring: the caller's lateness bound makes that unreachable.
   */
  add(slot: number, day: number, value: number): boolean {
    const R = this.ringDays;
    const last = this.lastDay[slot]!;
    if (last === 0) this.lastDay[slot] = day;
    else if (day > last) this.advance(slot, last, day);
    else if (day <= last - R) return false;
    const i = slot * R + (day % R);
    const c = this.counts[i]!;
    if (c < FULL - 1) this.counts[i] = c + 1;
    else if (c === FULL - 1) {
      this.counts[i] = FULL;
      this.overflow.set(i, FULL);
    } else this.overflow.set(i, this.overflow.get(i)! + 1);
    if (value !== 1 || this.sumSlot[slot] !== NO_SUM) this.addValue(slot, i, value);
    return true;
  }

  /** Events on days [from, to) — only days still in the ring count. */
  count(slot: number, from: number, to: number): number {
    const R = this.ringDays;
    const last = this.lastDay[slot]!;
    const lo = Math.max(from, last - R + 1);
    const hi = Math.min(to - 1, last);
    let n = 0;
    for (let d = lo; d <= hi; d++) {
      const i = slot * R + (d % R);
      const c = this.counts[i]!;
      n += c === FULL ? this.overflow.get(i)! : c;
    }
    return n;
  }

  /** Sum of the values on days [from, to) (equal to the count while every value was 1). */
  sum(slot: number, from: number, to: number): number {
    const s = this.sumSlot[slot]!;
    if (s === NO_SUM) return this.count(slot, from, to);
    const R = this.ringDays;
    const last = this.lastDay[slot]!;
    const lo = Math.max(from, last - R + 1);
    const hi = Math.min(to - 1, last);
    let v = 0;
    for (let d = lo; d <= hi; d++) v += this.sums[s * R + (d % R)]!;
    return v;
  }

  private advance(slot: number, last: number, day: number): void {
    const R = this.ringDays;
    const base = slot * R;
    const s = this.sumSlot[slot]!;
    for (let d = last + 1, n = 0; d <= day && n < R; d++, n++) {
      const i = base + (d % R);
      if (this.counts[i] === FULL) this.overflow.delete(i);
      this.counts[i] = 0;
      if (s !== NO_SUM) this.sums[s * R + (d % R)] = 0;
    }
    this.lastDay[slot] = day;
  }

  private addValue(slot: number, i: number, value: number): void {
    const R = this.ringDays;
    let s = this.sumSlot[slot]!;
    if (s === NO_SUM) {
      s = this.sumSlots++;
      if ((s + 1) * R > this.sums.length) {
        this.sums = grown(this.sums, (s + 1) * R);
      }
      this.sumSlot[slot] = s;
      // Until now every value was 1: the sums are the counts (minus the event just counted).
      for (let k = 0; k < R; k++) {
        const c = this.counts[slot * R + k]!;
        this.sums[s * R + k] = c === FULL ? this.overflow.get(slot * R + k)! : c;
      }
      this.sums[s * R + (i - slot * R)]! -= 1;
    }
    this.sums[s * R + (i - slot * R)]! += value;
  }

  private grow(): void {
    const cap = Math.ceil(this.capacity * 1.5);
    this.lastDay = grown(this.lastDay, cap, 1);
    this.counts = grown(this.counts, cap * this.ringDays, 1);
    this.sumSlot = grown(this.sumSlot, cap, 1, NO_SUM);
    this.capacity = cap;
  }

  snapshot(): DayRingsSnapshot {
    const n = this.slots;
    const R = this.ringDays;
    return {
      ringDays: R,
      slots: n,
      lastDay: this.lastDay.slice(0, n),
      counts: this.counts.slice(0, n * R),
      overflow: [...this.overflow],
      sumSlot: this.sumSlot.slice(0, n),
      sums: this.sums.slice(0, this.sumSlots * R),
      sumSlots: this.sumSlots,
      free: [...this.free],
    };
  }

  /** The same picture as `snapshot()`, its large counts copied in pieces (see steps.ts). */
  async snapshotInSteps(pause: Pause): Promise<DayRingsSnapshot> {
    const n = this.slots;
    const R = this.ringDays;
    const counts = await copyInSteps(this.counts, n * R, pause);
    return { ...this.snapshotWithout(), counts };
  }

  private snapshotWithout(): Omit<DayRingsSnapshot, 'counts'> {
    const n = this.slots;
    return {
      ringDays: this.ringDays,
      slots: n,
      lastDay: this.lastDay.slice(0, n),
      overflow: [...this.overflow],
      sumSlot: this.sumSlot.slice(0, n),
      sums: this.sums.slice(0, this.sumSlots * this.ringDays),
      sumSlots: this.sumSlots,
      free: [...this.free],
    };
  }

  static restore(s: DayRingsSnapshot): DayRings {
    const r = new DayRings(s.ringDays, Math.max(1024, s.slots));
    r.slots = s.slots;
    r.lastDay.set(s.lastDay);
    r.counts.set(s.counts);
    r.overflow = new Map(s.overflow);
    r.sumSlot.set(s.sumSlot);
    r.sums = new Float64Array(Math.max(64, s.sumSlots) * s.ringDays);
    r.sums.set(s.sums);
    r.sumSlots = s.sumSlots;
    r.free = [...s.free];
    return r;
  }
}
