/**
 * The partition of a client: FNV-1a (32-bit) of its id's UTF-8 bytes, modulo the number of
 * partitions — the same function as NATS's own `{{partition(n, …)}}` subject mapping, so a
 * server-side mapping and Pulso's code put every client in the same partition. Pure and
 * stable: a client's partition never changes while the count stays.
 */
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;
const utf8 = new TextEncoder();

export function fnv1a32(s: string): number {
  let h = OFFSET;
  for (const b of utf8.encode(s)) {
    h ^= b;
    h = Math.imul(h, PRIME) >>> 0;
  }
  return h >>> 0;
}

export function partitionOf(clientId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be a whole number ≥ 1, got ${partitions}`);
  return fnv1a32(clientId) % partitions;
}
