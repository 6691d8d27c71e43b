import { describe, expect, it } from 'vitest';
import { ev } from '../test/fixtures/events.js';
import { Calendar } from './calendar.js';
import { Admission, type AdmissionLimits } from './admission.js';

const LIMITS: AdmissionLimits = {
  maxClients: 3,
  maxNamesPerClient: 2,
  maxEventNames: 4,
  maxUsersPerClient: 2,
};
const T = Date.parse('2026-11-01T10:00:00Z');
const DAY = 86_400_000;
const make = () => new Admission(LIMITS, new Calendar('UTC'), 10);
const codes = (a: Admission, events: ReturnType<typeof ev>[]) =>
  a
    .apply(events)
    .refused.map((r) => `${r.event.clientId}/${r.event.name}/${r.event.userId}:${r.code}`);

describe('Admission', () => {
  it('refuses the client beyond maxClients; known clients are unaffected', () => {
    const a = make();
    expect(
      codes(
        a,
        ['a', 'b', 'c', 'd', 'a', 'e', 'c'].map((c) => ev(T, c, 'login', { user: null })),
      ),
    ).toEqual(['d/login/null:client_limit', 'e/login/null:client_limit']);
    expect(a.clientCount).toBe(3);
    expect(a.admitsClient('b')).toBe(true);
    expect(a.admitsClient('z')).toBe(false);
  });

  it('names per client and in all; users per client', () => {
    const a = make();
    expect(
      codes(a, [
        ev(T, 'a', 'tela:x', { user: null }),
        ev(T, 'a', 'tela:y', { user: null }),
        ev(T, 'a', 'tela:z', { user: null }), // third name for a
        ev(T, 'b', 'tela:z', { user: null }),
        ev(T, 'b', 'tela:w', { user: null }),
        ev(T, 'c', 'tela:v', { user: null }), // fifth name in all
        ev(T, 'c', 'tela:x', { user: 'u1' }),
        ev(T, 'c', 'tela:x', { user: 'u2' }),
        ev(T, 'c', 'tela:x', { user: 'u3' }), // third user of c
        ev(T, 'c', 'tela:x', { user: 'u1' }),
      ]),
    ).toEqual(['a/tela:z/null:name_limit', 'c/tela:v/null:name_limit', 'c/tela:x/u3:user_limit']);
  });

  it('idle names and users stop counting, as the figures forget them; a snapshot decides the same', () => {
    const a = make();
    a.apply([ev(T, 'a', 'tela:x', { user: 'u1' }), ev(T, 'a', 'tela:y', { user: 'u2' })]);
    expect(codes(a, [ev(T + 5 * DAY, 'a', 'tela:z', { user: null })])).toEqual([
      'a/tela:z/null:name_limit',
    ]);
    const copy = new Admission(LIMITS, new Calendar('UTC'), 10, structuredClone(a.snapshot()));
    for (const x of [a, copy]) {
      // Ten days after their last use, tela:x and tela:y (and u1, u2) are forgotten.
      expect(
        codes(x, [
          ev(T + 11 * DAY, 'a', 'tela:z', { user: 'u3' }),
          ev(T + 11 * DAY, 'a', 'tela:q', { user: 'u4' }),
        ]),
      ).toEqual([]);
      expect(codes(x, [ev(T + 11 * DAY, 'a', 'tela:x', { user: null })])).toEqual([
        'a/tela:x/null:name_limit',
      ]);
    }
  });

  it('a late event does not make a key look idle sooner', () => {
    const a = make();
    a.apply([
      ev(T + 5 * DAY, 'a', 'tela:x', { user: null }),
      ev(T, 'a', 'tela:x', { user: null }),
      ev(T, 'a', 'tela:y', { user: null }),
    ]);
    // tela:x last used at T + 5 d: still counted at T + 12 d, tela:y (T) is not.
    expect(
      codes(a, [
        ev(T + 12 * DAY, 'a', 'tela:z', { user: null }),
        ev(T + 12 * DAY, 'a', 'tela:q', { user: null }),
      ]),
    ).toEqual(['a/tela:q/null:name_limit']);
  });
});
