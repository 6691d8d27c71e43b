import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../contract/decode.js';
import { DEFAULT_LIMITS } from '../contract/limits.js';
import { demoClients, demoDay, demoInvalid, rng } from './stream.js';

const NOW = Date.UTC(2026, 10, 22, 12);
const enc = new TextEncoder();
const decode = (subject: string, payload: unknown) =>
  decodeMessage(
    {
      subject,
      data: enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      streamSeq: 1,
      storedAt: NOW,
    },
    DEFAULT_LIMITS,
  );

describe('demo stream', () => {
  const clients = demoClients(300, 6, 42, NOW - 31 * 86_400_000);

  it('is reproducible from its seed', () => {
    expect(demoClients(300, 6, 42, 0).map((c) => c.profile)).toEqual(
      demoClients(300, 6, 42, 0).map((c) => c.profile),
    );
    expect(demoDay(clients, NOW, 3, 42)).toEqual(demoDay(clients, NOW, 3, 42));
  });

  it('mixes healthy, declining, inactive and cancelled clients with several users', () => {
    const profiles = new Set(clients.map((c) => c.profile));
    expect(profiles).toEqual(new Set(['healthy', 'declining', 'inactive', 'cancelled']));
    expect(Math.max(...clients.map((c) => c.users.length))).toBeGreaterThan(1);
  });

  it('inactive clients are silent over the last days; healthy ones are not', () => {
    const today = demoDay(clients, NOW, 0, 42);
    const active = new Set(today.map((e) => e.client_id));
    for (const c of clients) {
      if (c.profile === 'inactive' || c.profile === 'cancelled')
        expect(active.has(c.clientId)).toBe(false);
    }
    expect(
      clients.filter((c) => c.profile === 'healthy').every((c) => active.has(c.clientId)),
    ).toBe(true);
  });

  it('every generated event and client update satisfies the contract; every invalid one does not', () => {
    const day = demoDay(clients, NOW, 1, 42);
    const out = decode('tracking.events', day);
    expect(out.deadLetters).toEqual([]);
    expect(out.events).toHaveLength(day.length);
    expect(new Set(out.events.map((e) => e.kind))).toEqual(
      new Set(['login', 'screen', 'action', 'metric']),
    );
    expect(
      decode(
        'tracking.clients',
        clients.map((c) => c.update),
      ).deadLetters,
    ).toEqual([]);
    const r = rng(1);
    for (let i = 0; i < 50; i++)
      expect(decode('tracking.events', demoInvalid(r, NOW)).deadLetters).toHaveLength(1);
  });
});
