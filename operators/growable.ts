/** The one way the operators grow their typed-array columns. */
export type TypedArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/**
 * `a` if it already holds `length` elements; otherwise a copy at least that long (and at
 * least `factor` times as long, so growing stays amortized O(1)), new elements `fill`.
 */
export function grown<T extends TypedArray>(a: T, length: number, factor = 2, fill = 0): T {
  if (length <= a.length) return a;
  const size = Math.max(length, Math.ceil(a.length * factor));
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a as never);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
