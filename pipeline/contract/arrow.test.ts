import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowBatch } from '../../test/fixtures/usage-stream.js';
import { CONTENT_TYPE_ARROW } from './arrow.js';
import { decodeMessage } from './decode.js';
import { DEFAULT_LIMITS } from './limits.js';

const T = Date.parse('2026-11-20T12:00:00Z');
const msg = (data: Uint8Array) => ({
  subject: 'tracking.events',
  data,
  headers: { 'Content-Type': CONTENT_TYPE_ARROW },
  streamSeq: 9,
  storedAt: T,
});

describe('Arrow IPC batches', () => {
  it('decodes every row, dictionary strings and nulls included', () => {
    const d = decodeMessage(
      msg(
        arrowBatch([
          {
            id: 'a1',
            kind: 'screen',
            name: 'tela:pedidos',
            client_id: 'acme',
            user_id: 'ana',
            timestamp: T - 1000,
          },
          {
            id: 'a2',
            kind: 'metric',
            name: 'metrica:vendas',
            client_id: 'acme',
            timestamp: T - 500,
            value: 12.5,
          },
          {
            id: 'a3',
            kind: 'login',
            name: 'login',
            client_id: 'beta',
            user_id: 'bob',
            timestamp: T,
          },
        ]),
      ),
      DEFAULT_LIMITS,
    );
    expect(d.deadLetters).toEqual([]);
    expect(
      d.events.map((e) => [
        e.eventId,
        e.kind,
        e.name,
        e.clientId,
        e.userId,
        e.ts,
        e.value,
        e.index,
      ]),
    ).toEqual([
      ['a1', 'screen', 'tela:pedidos', 'acme', 'ana', T - 1000, 1, 0],
      ['a2', 'metric', 'metrica:vendas', 'acme', null, T - 500, 12.5, 1],
      ['a3', 'login', 'login', 'beta', 'bob', T, 1, 2],
    ]);
  });

  it('refuses a bad row alone, with the JSON schema rules and a path', () => {
    const d = decodeMessage(
      msg(
        arrowBatch([
          { id: 'ok', kind: 'screen', name: 'tela:a', client_id: 'acme', timestamp: T },
          { id: 'bad', kind: 'screen', name: 'tela a', client_id: 'acme', timestamp: T },
          { id: 'nov', kind: 'metric', name: 'metrica:x', client_id: 'acme', timestamp: T },
          { id: 'fut', kind: 'login', name: 'login', client_id: 'acme', timestamp: T + 3_600_000 },
        ]),
      ),
      DEFAULT_LIMITS,
    );
    expect(d.events.map((e) => e.eventId)).toEqual(['ok']);
    expect(d.deadLetters.map((x) => [x.index, x.reason.code, x.reason.path])).toEqual([
      [1, 'schema_violation', '/name'],
      [2, 'schema_violation', '/value'],
      [3, 'timestamp_in_future', '/timestamp'],
    ]);
    expect(JSON.parse(new TextDecoder().decode(d.deadLetters[0]!.payload))).toMatchObject({
      id: 'bad',
      name: 'tela a',
    });
  });

  it('dead-letters a message that is not Arrow, or lacks a required column, whole and byte for byte', () => {
    const junk = new TextEncoder().encode('{"kind":"login"}');
    const a = decodeMessage(msg(junk), DEFAULT_LIMITS);
    expect(a.deadLetters[0]).toMatchObject({ reason: { code: 'invalid_arrow' }, payload: junk });
    const noClient = tableToIPC(tableFromArrays({ kind: ['login'] }), 'stream');
    const b = decodeMessage(msg(noClient), DEFAULT_LIMITS);
    expect(b.deadLetters[0]!.reason).toMatchObject({
      code: 'invalid_arrow',
      message: 'column client_id is missing',
    });
  });
});
