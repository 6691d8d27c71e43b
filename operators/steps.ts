/**
 * Taking a large state's picture without holding the event loop: copies made in pieces,
 * with a pause (the caller's, e.g. the next turn of the event loop) between them. The
 * caller guarantees nothing changes the state until the picture is complete.
 */
export type Pause = () => Promise<void>;

type Typed = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/** Bytes copied between pauses: a few milliseconds of memcpy. */
const PIECE_BYTES = 4 * 1024 * 1024;

/** A copy of `a[0, n)`, made `PIECE_BYTES` at a time. */
export async function copyInSteps<T extends Typed>(a: T, n: number, pause: Pause): Promise<T> {
  const copy = new (a.constructor as new (length: number) => T)(n);
  const piece = Math.max(1, Math.floor(PIECE_BYTES / a.BYTES_PER_ELEMENT));
  for (let from = 0; from < n; from += piece) {
    copy.set(a.subarray(from, Math.min(n, from + piece)) as never, from);
    if (from + piece < n) await pause();
  }
  return copy;
}
