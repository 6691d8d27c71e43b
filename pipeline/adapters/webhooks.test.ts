import { describe, expect, it } from 'vitest';
import { parseCall, signature } from './webhooks.js';

const enc = new TextEncoder();

describe('webhook calls', () => {
  it.each([
    ['not JSON', 'not json {'],
    ['not UTF-8', new Uint8Array([0xff, 0xfe, 0x00])],
    ['JSON but not a call', '{"url": 5}'],
    ['an empty object', '{}'],
    ['deeply nested', '['.repeat(50_000) + ']'.repeat(50_000)],
  ])('%s is refused as webhook_invalid, never thrown', (_name, payload) => {
    const got = parseCall(typeof payload === 'string' ? enc.encode(payload) : payload);
    expect(got).toMatchObject({ code: 'webhook_invalid' });
  });

  it('signs "<t>.<body>" with HMAC-SHA256 (known answer, from openssl)', () => {
    expect(signature('s3cret', '{"a":1}', 1700000000)).toBe(
      't=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940',
    );
  });
});
