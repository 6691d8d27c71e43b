/**
 * A hash table from (owner, subject) integer pairs to an integer, in three Int32Arrays:
 * about 17 bytes per entry where a JS Map with composite number keys costs ~80 (the keys
 * outgrow small integers and become heap numbers). Open addressing with linear probing;
 * deletion shifts the following entries back, so no tombstones accumulate.
 */
const EMPTY = -1;
const MAX_LOAD = 0.7;

export interface KeyTableSnapshot {
  owners: Int32Array;
  subjects: Int32Array;
  values: Int32Array;
  count: number;
}

export class KeyTable {
  private owners: Int32Array;
  private subjects: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(16, capacity / MAX_LOAD)));
    this.owners = new Int32Array(size).fill(EMPTY);
    this.subjects = new Int32Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  private home(owner: number, subject: number): number {
    let h = Math.imul(owner, 0x9e3779b1) ^ Math.imul(subject + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The value for (owner, subject), or -1. */
  get(owner: number, subject: number): number {
    for (let i = this.home(owner, subject); ; i = (i + 1) & this.mask) {
      const o = this.owners[i]!;
      if (o === EMPTY) return -1;
      if (o === owner && this.subjects[i] === subject) return this.values[i]!;
    }
  }

  set(owner: number, subject: number, value: number): void {
    if ((this.count + 1) / (this.mask + 1) > MAX_LOAD) this.grow();
    for (let i = this.home(owner, subject); ; i = (i + 1) & this.mask) {
      const o = this.owners[i]!;
      if (o === EMPTY) {
        this.owners[i] = owner;
        this.subjects[i] = subject;
        this.values[i] = value;
        this.count++;
        return;
      }
      if (o === owner && this.subjects[i] === subject) {
        this.values[i] = value;
        return;
      }
    }
  }

  delete(owner: number, subject: number): void {
    let i = this.home(owner, subject);
    for (; ; i = (i + 1) & this.mask) {
      const o = this.owners[i]!;
      if (o === EMPTY) return;
      if (o === owner && this.subjects[i] === subject) break;
    }
    this.count--;
    // Backward-shift: move later entries of the cluster into the gap when their home allows.
    for (let j = (i + 1) & this.mask; this.owners[j] !== EMPTY; j = (j + 1) & this.mask) {
      const h = this.home(this.owners[j]!, this.subjects[j]!);
      const between = i <= j ? i < h && h <= j : i < h || h <= j;
      if (between) continue;
      this.owners[i] = this.owners[j]!;
      this.subjects[i] = this.subjects[j]!;
      this.values[i] = this.values[j]!;
      i = j;
    }
    this.owners[i] = EMPTY;
  }

  /** Calls fn for every entry; fn must not change the table (collect, then delete). */
  forEach(fn: (owner: number, subject: number, value: number) => void): void {
    for (let i = 0; i <= this.mask; i++) {
      const o = this.owners[i]!;
      if (o !== EMPTY) fn(o, this.subjects[i]!, this.values[i]!);
    }
  }

  private grow(): void {
    const { owners, subjects, values } = this;
    const size = (this.mask + 1) * 2;
    this.owners = new Int32Array(size).fill(EMPTY);
    this.subjects = new Int32Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < owners.length; i++)
      if (owners[i] !== EMPTY) this.set(owners[i]!, subjects[i]!, values[i]!);
  }

  /** The arrays as they are, so a restored table iterates in the same order. */
  snapshot(): KeyTableSnapshot {
    return {
      owners: this.owners.slice(),
      subjects: this.subjects.slice(),
      values: this.values.slice(),
      count: this.count,
    };
  }

  static restore(s: KeyTableSnapshot): KeyTable {
    const t = new KeyTable(16);
    t.owners = s.owners.slice();
    t.subjects = s.subjects.slice();
    t.values = s.values.slice();
    t.mask = s.owners.length - 1;
    t.count = s.count;
    return t;
  }
}
