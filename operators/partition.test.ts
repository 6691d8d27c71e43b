import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fnv1a32, partitionOf } from './partition.js';

describe('partitionOf', () => {
  it("agrees with nats-server 2.9.10's partition(16) mapping (answers read off the server)", () => {
    // Published on part.<id> through `"part.*": "parted.{{partition(16,1)}}.{{wildcard(1)}}"`.
    const server: Record<string, number> = {
      acme: 15,
      globex: 14,
      initech: 1,
      c1: 9,
      c2: 0,
      c3: 3,
      umbrella: 5,
      x: 7,
    };
    for (const [id, p] of Object.entries(server)) expect(partitionOf(id, 16), id).toBe(p);
  });

  it('is FNV-1a 32 (the published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('is in range and stable for any id; refuses a bad count', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 1024 }), (id, n) => {
        const p = partitionOf(id, n);
        return p >= 0 && p < n && Number.isInteger(p) && p === partitionOf(id, n);
      }),
    );
    expect(() => partitionOf('a', 0)).toThrow(RangeError);
  });
});
