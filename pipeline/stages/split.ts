/**
 * `splitSlice` — one decoded slice of the tracking stream into one slice per partition.
 *
 * Every worker reads the whole tracking stream once and decodes it once; this split then
 * hands each partition it owns exactly what belongs to it, in stream order:
 *   - events, to the partition of their client (`partitionOf`); an event that names only
 *     its user goes to the partition of the client the user updates before it name (read
 *     from the `lead` partition's user directory, which every partition keeps whole), and
 *     when there is none, to the partition of the user id, where it is dead-lettered;
 *   - client updates, to the partition of their client;
 *   - user updates and clock ticks, to every partition (all keep the whole user directory,
 *     and the clock moves every partition's event time);
 *   - dead letters of decoding, to the partition `streamSeq mod count`, so that exactly one
 *     worker publishes each.
 * A partition whose checkpoint is ahead of part of the slice gets only what comes after
 * its own position. Emits nothing itself: it returns the sub-slices; the chain routes them.
 */
import { partitionOf } from '../../operators/partition.js';
import { UNRESOLVED_CLIENT } from '../contract/decode.js';
import type { UserDirectory } from '../contract/user-directory.js';
import type { Slice } from './units.js';

export interface Route {
  partition: number;
  /** The stream sequence the partition's state already reflects. */
  afterSeq: number;
}

/**
 * The sub-slices of `s` for `routes` (each partition once), keyed by partition. A partition
 * already past the whole slice gets none. `users` resolves events that name no client.
 */
export function splitSlice(
  s: Slice,
  count: number,
  routes: readonly Route[],
  users: Pick<UserDirectory, 'clientOf'> | undefined,
): Map<number, Slice> {
  const out = new Map<number, Slice>();
  for (const r of routes) {
    if (s.lastSeq <= r.afterSeq && s.messages > 0) continue;
    out.set(r.partition, {
      ...s,
      events: [],
      updates: [],
      userUpdates: [],
      taskUpdates: [],
      deadLetters: [],
      settle: () => undefined,
    });
  }
  if (out.size === 0) return out;
  const after = new Map(routes.map((r) => [r.partition, r.afterSeq]));
  const target = (p: number, seq: number) => {
    const part = out.get(p);
    return part && seq > after.get(p)! ? part : undefined;
  };
  // The event time the whole stream has reached, event by event: each partition's
  // watermark moves with it, as one process's would (an event dead-lettered for want of a
  // client never moves it).
  let reached = -Infinity;
  for (const e of s.events) {
    let key = e.clientId;
    let resolved = true;
    if (key === UNRESOLVED_CLIENT) {
      const client = e.userId === null ? undefined : users?.clientOf(e.userId);
      resolved = client !== undefined;
      key = client ?? e.userId ?? '';
    }
    const part = target(partitionOf(key, count), e.streamSeq);
    if (part) {
      e.streamTime = reached;
      part.events.push(e);
    }
    if (resolved && e.ts > reached) reached = e.ts;
  }
  for (const part of out.values()) part.reached = reached;
  for (const u of s.updates) target(partitionOf(u.clientId, count), u.streamSeq)?.updates.push(u);
  for (const u of s.taskUpdates)
    target(partitionOf(u.clientId, count), u.streamSeq)?.taskUpdates.push(u);
  for (const [p, part] of out) {
    const from = after.get(p)!;
    for (const u of s.userUpdates) if (u.streamSeq > from) part.userUpdates.push(u);
    // A clock tick ends its slice: it is the slice's last message.
    if (s.clock !== undefined && s.lastSeq <= from) delete part.clock;
  }
  for (const d of s.deadLetters) target(d.streamSeq % count, d.streamSeq)?.deadLetters.push(d);
  return out;
}
