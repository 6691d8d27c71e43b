import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  DestinationRefused,
  policyAgent,
  refusedAddress,
  refusedUrl,
  type DestinationPolicy,
} from './webhook-destination.js';
import { parseCall, webhookSignature } from './webhooks.js';

const enc = new TextEncoder();
const STRICT: DestinationPolicy = { allowHosts: [], allowCidrs: [], allowHttp: false };

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
});

describe('Standard Webhooks signatures', () => {
  const secret = `whsec_${Buffer.from('a key of thirty-two bytes, exact').toString('base64')}`;
  const old = `whsec_${Buffer.from('the previous key, still accepted').toString('base64')}`;
  const at = new Date(1_700_000_000_000);
  const body = '{"id":"webhook/p/acme/2026-W47/0"}';

  it('is v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed with the decoded secret', () => {
    const mac = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`msg_1.1700000000.${body}`)
      .digest('base64');
    expect(webhookSignature([secret], 'msg_1', at, body)).toBe(`v1,${mac}`);
  });

  it('verifies with the spec library, under either secret while they rotate', () => {
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': webhookSignature([secret, old], 'msg_1', new Date(), body),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const s of [secret, old])
      expect(new Webhook(s).verify(body, headers)).toEqual(JSON.parse(body));
    const other = `whsec_${Buffer.from('some other key nobody should use').toString('base64')}`;
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('acme', 'evil'), headers)).toThrow();
  });
});

describe('webhook destination policy', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', 'https only'],
    ['https://127.0.0.1/hook', 'loopback'],
    ['https://10.1.2.3/hook', 'private'],
    ['https://192.168.0.10/hook', 'private'],
    ['https://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['https://[::1]/hook', 'loopback'],
    ['https://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['https://[fd00::1]/hook', 'uniqueLocal'],
    ['https://100.64.0.1/hook', 'carrierGradeNat'],
    ['https://0.0.0.0/hook', 'unspecified'],
    ['https://user:pw@example.com/hook', 'credentials'],
    ['ftp://example.com/hook', 'not allowed'],
    ['not a url', 'not a URL'],
  ])('%s is refused (%s)', (url, why) => {
    expect(refusedUrl(url, STRICT)).toContain(why);
  });

  it('lets public https destinations through, and what the configuration allows', () => {
    expect(refusedUrl('https://93.184.216.34/hook', STRICT)).toBeUndefined();
    expect(refusedUrl('https://hooks.example.com/x', STRICT)).toBeUndefined(); // judged at connect
    const allowed: DestinationPolicy = {
      allowHosts: ['127.0.0.1'],
      allowCidrs: ['10.20.0.0/16'],
      allowHttp: true,
    };
    expect(refusedUrl('http://127.0.0.1:9/hook', allowed)).toBeUndefined();
    expect(refusedAddress('10.20.3.4', allowed)).toBeUndefined();
    expect(refusedAddress('10.21.3.4', allowed)).toContain('private');
    expect(refusedAddress('169.254.169.254', allowed)).toContain('linkLocal');
  });

  it('refuses a name that resolves to a refused address, when connecting', async () => {
    const server = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const agent = policyAgent({ ...STRICT, allowHttp: true }, 2000);
    try {
      const err = await request(`http://localhost:${port}/`, { dispatcher: agent }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const chain: unknown[] = [];
      for (let x = err; x; x = (x as { cause?: unknown }).cause) chain.push(x);
      expect(chain.some((x) => x instanceof DestinationRefused)).toBe(true);
      // The same name, allowed by the configuration, is reached.
      const open = policyAgent({ ...STRICT, allowHttp: true, allowHosts: ['localhost'] }, 2000);
      const res = await request(`http://localhost:${port}/`, { dispatcher: open });
      expect(await res.body.text()).toBe('reached');
      await open.close();
    } finally {
      await agent.close();
      server.close();
    }
  });
});
