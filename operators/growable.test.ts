import { describe, expect, it } from 'vitest';
import { grown } from './growable.js';

describe('grown', () => {
  it('keeps the array when it is long enough, else copies it into a longer one of its type', () => {
    const a = new Int32Array([1, 2, 3]);
    expect(grown(a, 3)).toBe(a);
    const b = grown(a, 4);
    expect(b).toBeInstanceOf(Int32Array);
    expect([...b]).toEqual([1, 2, 3, 0, 0, 0]); // doubled: amortized growth
    expect([...grown(new Float64Array([0.5]), 3, 1, -1)]).toEqual([0.5, -1, -1]);
    expect(grown(new Uint16Array(10), 11, 1.5).length).toBe(15);
  });
});
