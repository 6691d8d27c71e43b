/**
 * Two small integers (an owner — a client or a client's user — and an item of it: a
 * subject, a ratio side) packed into one exact safe integer, for maps keyed by both.
 */
/** Room for 2^21 subjects (event names, kinds) per client: keys stay exact safe integers. */
const SUBJECTS = 2 ** 21;

export function pairKey(owner: number, item: number): number {
  return owner * SUBJECTS + item;
}

export function ownerOf(key: number): number {
  return Math.floor(key / SUBJECTS);
}

export function itemOf(key: number): number {
  return key % SUBJECTS;
}
