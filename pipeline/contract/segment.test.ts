import { describe, expect, it } from 'vitest';
import { fromCustomerX } from './customerx.js';
import { correctedTime, fromSegment, slug, type SegmentMapping } from './segment.js';

const M: SegmentMapping = {
  clientProperty: 'client_id',
  screenName: 'tela:{name}',
  actionName: 'acao:{event}',
  loginEvents: ['Signed In'],
  metricEvents: { 'Order Completed': 'revenue' },
};
const NOW = Date.parse('2026-12-01T15:00:00Z');

describe('Segment calls as Pulso events', () => {
  it('track: action named from the template, client from context.groupId, messageId as id', () => {
    expect(
      fromSegment(
        'track',
        {
          event: 'Relatório Emitido',
          userId: 'ana',
          messageId: 'm-1',
          context: { groupId: 'acme' },
        },
        M,
        NOW,
      ),
    ).toEqual({
      event: {
        id: 'm-1',
        user_id: 'ana',
        kind: 'action',
        client_id: 'acme',
        name: 'acao:relatorio_emitido',
      },
    });
  });

  it('a login event, a metric event with its value, the client from the configured property', () => {
    expect(
      fromSegment(
        'track',
        { event: 'Signed In', userId: 'u', properties: { client_id: 'c' } },
        M,
        NOW,
      ),
    ).toEqual({
      event: { user_id: 'u', kind: 'login', client_id: 'c' },
    });
    expect(
      fromSegment(
        'track',
        { event: 'Order Completed', userId: 'u', properties: { client_id: 'c', revenue: 99.5 } },
        M,
        NOW,
      ),
    ).toEqual({
      event: {
        user_id: 'u',
        kind: 'metric',
        client_id: 'c',
        name: 'acao:order_completed',
        value: 99.5,
      },
    });
    expect(
      fromSegment('track', { event: 'Order Completed', properties: { client_id: 'c' } }, M, NOW),
    ).toMatchObject({
      reason: { path: '/properties/revenue' },
    });
  });

  it('page and screen: kind screen, name from the template; the client left to the user, or a reason', () => {
    expect(fromSegment('page', { name: 'Pedidos', context: { groupId: 'acme' } }, M, NOW)).toEqual({
      event: { kind: 'screen', client_id: 'acme', name: 'tela:pedidos' },
    });
    // No client named: the pipeline counts it for the user's client (their latest group).
    expect(fromSegment('screen', { name: 'Home', anonymousId: 'anon' }, M, NOW)).toEqual({
      event: { user_id: 'anon', kind: 'screen', name: 'tela:home' },
    });
    expect(fromSegment('screen', { name: 'Home' }, M, NOW)).toMatchObject({
      reason: { path: '/context/groupId' },
    });
  });

  it("group: the client's fields by name, other traits as attributes", () => {
    expect(
      fromSegment(
        'group',
        { groupId: 'acme', traits: { plan: 'pro', mrr: 10, sector: 'varejo', deep: { x: 1 } } },
        M,
        NOW,
      ),
    ).toEqual({
      update: { client_id: 'acme', plan: 'pro', mrr: 10, attributes: { sector: 'varejo' } },
    });
  });

  it("corrects the device's clock: receivedAt − (sentAt − timestamp)", () => {
    // The device's clock is 10 minutes fast: it says the event was 1 min before sending.
    const call = { timestamp: '2026-12-01T15:09:00Z', sentAt: '2026-12-01T15:10:00Z' };
    expect(correctedTime(call, NOW)).toBe(NOW - 60_000);
    expect(correctedTime({ timestamp: '2026-12-01T14:00:00Z' }, NOW)).toBe(
      Date.parse('2026-12-01T14:00:00Z'),
    );
  });

  it('slugs names into the contract’s alphabet', () => {
    expect(slug('  Relatório  Emitido! ')).toBe('relatorio_emitido');
    expect(slug('Checkout/Step 2')).toBe('checkout/step_2');
  });

  it("identify: the user's traits (and client, with a group); alias refused by name", () => {
    expect(
      fromSegment(
        'identify',
        { userId: 'ana', traits: { email: 'ana@acme.test', deep: {} } },
        M,
        NOW,
      ),
    ).toEqual({ user: { user_id: 'ana', traits: { email: 'ana@acme.test' } } });
    expect(
      fromSegment('identify', { userId: 'ana', context: { groupId: 'acme' } }, M, NOW),
    ).toEqual({
      user: { user_id: 'ana', client_id: 'acme' },
    });
    expect(fromSegment('identify', { traits: { a: 1 } }, M, NOW)).toMatchObject({
      reason: { path: '/userId' },
    });
    expect(fromSegment('alias', { userId: 'u', previousId: 'p' }, M, NOW)).toMatchObject({
      reason: { path: '/type' },
    });
    expect(fromSegment('track', 'not an object', M, NOW)).toMatchObject({
      reason: { code: 'schema_violation' },
    });
  });
});

describe('CustomerX trackings as Pulso events', () => {
  const base = {
    external_id_client: 'acme',
    type_tracking: 'action',
    identifier: 'acao:x',
    email: 'a@acme.test',
  };

  it('maps its documented fields', () => {
    expect(
      fromCustomerX(
        { ...base, amount: 3, external_id_product: 'erp', external_id_contact: 'ana' },
        'UTC',
        NOW,
      ),
    ).toEqual({
      event: {
        kind: 'action',
        client_id: 'acme',
        name: 'acao:x',
        user_id: 'ana',
        value: 3,
        properties: { product: 'erp', email: 'a@acme.test' },
      },
    });
  });

  it('date_tracking: today is the time received, an earlier day its noon in the zone, a later day refused', () => {
    expect(fromCustomerX({ ...base, date_tracking: '01/12/2026' }, 'UTC', NOW)).toMatchObject({
      event: { timestamp: NOW },
    });
    expect(
      fromCustomerX({ ...base, date_tracking: '25/11/2026' }, 'America/Sao_Paulo', NOW),
    ).toMatchObject({
      event: { timestamp: Date.parse('2026-11-25T15:00:00Z') },
    });
    expect(fromCustomerX({ ...base, date_tracking: '02/12/2026' }, 'UTC', NOW)).toMatchObject({
      reason: { path: '/date_tracking' },
    });
    expect(fromCustomerX({ ...base, date_tracking: '31/02/2026' }, 'UTC', NOW)).toMatchObject({
      reason: { path: '/date_tracking' },
    });
  });

  it('refuses what the API requires and lacks', () => {
    expect(fromCustomerX({ ...base, type_tracking: 'click' }, 'UTC', NOW)).toMatchObject({
      reason: { path: '/type_tracking' },
    });
    expect(fromCustomerX({ ...base, external_id_client: '' }, 'UTC', NOW)).toMatchObject({
      reason: { path: '/external_id_client' },
    });
    expect(fromCustomerX({ ...base, amount: 0 }, 'UTC', NOW)).toMatchObject({
      reason: { path: '/amount' },
    });
    expect(
      fromCustomerX({ ...base, type_tracking: 'login', identifier: undefined }, 'UTC', NOW),
    ).toEqual({
      event: { kind: 'login', client_id: 'acme', user_id: 'a@acme.test' },
    });
  });
});
