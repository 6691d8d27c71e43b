/**
 * One pass over JSON bytes, without recursion and without parsing: how deep the document
 * nests and, for a top-level array, where each element starts and ends.
 *
 * It runs before `JSON.parse` so that nothing downstream ever meets a structure deeper than
 * the limit (serializing one that is 10,000 deep overflows the stack), and so that a batch
 * element is dead-lettered with its exact bytes and measured by them — never by
 * re-serializing what the producer sent. Only meaningful for valid JSON; on anything else
 * `JSON.parse` decides.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

export interface Structure {
  /** Deepest nesting reached, counting the outermost array or object as 1 (capped at maxDepth + 1). */
  depth: number;
  /** For a top-level array: [start, end) byte offsets of each element, in order. */
  elements?: Int32Array;
  /** Elements counted in a top-level array (also those beyond `maxElements`, not recorded). */
  count: number;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * Scans `data[from, to)`. Stops early once nesting exceeds `maxDepth` (then `depth` is
 * maxDepth + 1). Records at most `maxElements` element spans.
 */
export function scanJson(
  data: Uint8Array,
  maxDepth: number,
  maxElements: number,
  from = 0,
  to = data.length,
): Structure {
  let i = from;
  while (i < to && isSpace(data[i]!)) i++;
  const topArray = i < to && data[i] === OPEN_ARRAY;
  const spans = topArray ? new Int32Array(2 * Math.min(maxElements, (to - i) >> 1)) : undefined;
  let count = 0;
  let depth = 0;
  let deepest = 0;
  let start = -1; // start of the current top-level element, -1 when between elements
  const close = (end: number) => {
    if (start < 0) return;
    let e = end;
    while (e > start && isSpace(data[e - 1]!)) e--;
    if (count < maxElements && spans) {
      spans[2 * count] = start;
      spans[2 * count + 1] = e;
    }
    count++;
    start = -1;
  };
  for (; i < to; i++) {
    const b = data[i]!;
    if (topArray && depth === 1 && start < 0 && !isSpace(b) && b !== COMMA && b !== CLOSE_ARRAY)
      start = i;
    if (b === QUOTE) {
      // Skip the string: a backslash escapes the byte after it.
      for (i++; i < to; i++) {
        const c = data[i]!;
        if (c === BACKSLASH) i++;
        else if (c === QUOTE) break;
      }
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > maxDepth) return { depth: deepest, count };
      }
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      if (topArray && depth === 1) close(i);
      depth--;
    } else if (b === COMMA && topArray && depth === 1) close(i);
  }
  return {
    depth: deepest,
    count,
    ...(spans ? { elements: spans.subarray(0, 2 * Math.min(count, maxElements)) } : {}),
  };
}
